"""The SmartQuant register map, declared once.

:data:`REGISTER_MAP` is the table (name, word address, access, fields, meaning) from which the
register file (:class:`.registers.ControlRegisters`) decodes addresses and places fields, the
bench's register model (``verif.smartquant_host``) names what it reads and writes, and the
table in ``docs/smartquant.md`` section 8 is generated (``python -m hdl.smartquant.register_map``;
a test checks the page holds it). A register with ``count > 1`` is an array: element ``i`` at
``address + i * stride``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from golden.bitplane import PLANES

__all__ = ["Field", "Register", "REGISTER_MAP", "MAX_REGIONS", "DEVICE_ID", "REGISTERS", "register", "address_of",
           "field_of", "region_register", "markdown_table"]

DEVICE_ID = 0x5351_0002          # "SQ", interface version 2 (CONFIG gives the pool rows)
MAX_REGIONS = 12


@dataclass(frozen=True)
class Field:
    """Bits ``lsb .. lsb + width - 1`` of a register."""
    name: str
    lsb: int
    width: int = 1
    meaning: str = ""

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    access: str                   # "R", "W" or "R/W"
    meaning: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    count: int = 1
    stride: int = 1
    first_index: int = 0          # the name's index of element 0 (1 for LINES_SERVED_k)

    def addresses(self) -> dict[str, int]:
        """Element names (``NAME`` or ``NAME_i``) and their word addresses."""
        if self.count == 1:
            return {self.name: self.address}
        return {f"{self.name}_{i + self.first_index}": self.address + i * self.stride for i in range(self.count)}


REGISTER_MAP: tuple[Register, ...] = (
    Register("ID", 0x00, "R", f'`{DEVICE_ID:#010x}` ("SQ", interface version 2)'),
    Register("N_GROUPS", 0x01, "R", "`n_groups`"),
    Register("CONFIG", 0x02, "R", "the controller's parameters",
             (Field("POOL_ROWS", 0, 8, "`pool_rows`"), Field("N_REGIONS", 8, 8, "`n_regions`"))),
    Register("CONTROL", 0x03, "W", "commands (write 1 to a bit)",
             (Field("CLEAR", 0, 1, "clear the counters and `ERR_LAST_*`"),
              Field("FLUSH", 1, 1, "flush the write-combining buffer"),
              Field("COMMIT", 2, 1, "commit the region table"))),
    Register("STATUS", 0x04, "R", "state",
             (Field("WRITE_PENDING", 0, 1, "the write-combining buffer holds lines"),
              Field("IDLE", 1, 1, "nothing queued, in flight, or flushing"))),
    Register("ERR_LAST_CAUSE_TAG", 0x08, "R", "the latest error",
             (Field("CAUSE", 0, 2, "1 range, 2 opcode, 3 refused"), Field("TAG", 16, 16, "its tag"))),
    Register("ERR_LAST_ADDRESS", 0x09, "R", "the latest error's line address, bits 31:0"),
    Register("REGION_BASE", 0x10, "R/W", "first group of region `r`", count=MAX_REGIONS, stride=4),
    Register("REGION_LIMIT", 0x11, "R/W", "one past its last group (`base = limit`: empty, the reset value)",
             count=MAX_REGIONS, stride=4),
    Register("REGION_CAP", 0x12, "R/W", "planes fetched at most, 1..8 (reset 8)", count=MAX_REGIONS, stride=4),
    Register("LINES_SERVED", 0x40, "R", "host lines served from view `k` (poisoned ones excluded)",
             count=PLANES, first_index=1),
    Register("DRAM_READS", 0x48, "R", "DRAM bursts read for view-`k` reads (flush read-modify-writes count as view 8)",
             count=PLANES, first_index=1),
    Register("DRAM_WRITES", 0x50, "R", "DRAM bursts written"),
    Register("HOST_WRITES", 0x51, "R", "host writes accepted into the write-combining buffer"),
    Register("ERR_RANGE", 0x52, "R", "reads outside every view"),
    Register("ERR_OPCODE", 0x53, "R", "requests with an opcode the device does not serve"),
    Register("ERR_REFUSED", 0x54, "R", "writes refused (outside view 8, outside every view, or poisoned)"),
    Register("ERR_REGISTER", 0x55, "R", "register writes refused (read-only, unmapped, or a cap outside 1..8)"),
)

_BY_NAME = {r.name: r for r in REGISTER_MAP}
REGISTERS: dict[str, int] = {name: address for r in REGISTER_MAP if r.count == 1 or not r.name.startswith("REGION_")
                             for name, address in r.addresses().items()}
"""Word address of every register element outside the region table (``LINES_SERVED_3``, ...)."""


def register(name: str) -> Register:
    return _BY_NAME[name]


def address_of(name: str) -> int:
    return REGISTERS[name]


def field_of(register_name: str, field_name: str) -> Field:
    return next(f for f in _BY_NAME[register_name].fields if f.name == field_name)


def region_register(region: int, field_name: str) -> int:
    """Word address of ``field_name`` (``"base"``, ``"limit"`` or ``"cap"``) of region entry ``region``."""
    r = _BY_NAME[f"REGION_{field_name.upper()}"]
    if not 0 <= region < r.count:
        raise ValueError(f"region must be in 0..{r.count - 1}, got {region!r}")
    return r.address + region * r.stride


def markdown_table() -> str:
    """The register table of ``docs/smartquant.md`` section 8."""
    lines = ["| Address | Name | Access | Meaning |", "|---|---|---|---|"]
    for r in REGISTER_MAP:
        if r.count == 1:
            address, name = f"0x{r.address:02X}", f"`{r.name}`"
        elif r.name.startswith("REGION_"):
            address, name = f"0x{r.address:02X} + {r.stride}r", f"`{r.name}[r]`"
        else:
            address, name = f"0x{r.address:02X} + k − 1", f"`{r.name}_k`"
        meaning = r.meaning
        if r.fields:
            meaning += ": " + "; ".join(
                f"`{f.name}` " + (f"bits {f.lsb + f.width - 1}:{f.lsb}" if f.width > 1 else f"bit {f.lsb}")
                + (f", {f.meaning}" if f.meaning else "") for f in r.fields)
        lines.append(f"| {address} | {name} | {r.access} | {meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
