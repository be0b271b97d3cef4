"""Register file of the SmartQuant controller: region table, control, status, counters.

The register map (32-bit registers, word addresses, fields) is declared once in
:data:`.register_map.REGISTER_MAP`; ``docs/smartquant.md`` section 8 is generated from it.
Reads have one cycle of latency and no side effects. A write to a read-only or
unmapped address, or a cap outside 1..8, changes nothing and counts in
``ERR_REGISTER``. Region entries are written to a shadow copy and take effect
together when ``CONTROL.COMMIT`` is written, so the table changes atomically.
"""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

from .cxl_mem import ADDRESS_BITS, TAG_BITS
from .register_map import DEVICE_ID, MAX_REGIONS, REGISTER_MAP, REGISTERS, field_of, region_register
from .view_decoder import ErrorCause, RegionLayout

__all__ = ["RegisterBusSignature", "ControlRegisters"]

_REGION_FIELDS = ("base", "limit", "cap")
_COUNTERS = [name for r in REGISTER_MAP if r.access == "R" and r.name.startswith(("LINES_", "DRAM_", "HOST_", "ERR_"))
             and not r.name.startswith("ERR_LAST") for name in r.addresses()]


class RegisterBusSignature(wiring.Signature):
    """Minimal register port, seen from the initiator: ``addr`` (8-bit word address),
    ``w_en`` / ``w_data`` out, ``r_data`` in (the register at ``addr`` of the previous cycle).
    """

    def __init__(self):
        super().__init__({"addr": Out(8), "w_en": Out(1), "w_data": Out(32), "r_data": In(32)})


class ControlRegisters(wiring.Component):
    """Register file and event counters (32 bits, wrapping).

    Parameters
    ----------
    n_groups, pool_rows, n_regions : int
        Configuration reported in ``N_GROUPS`` and ``CONFIG``.

    Members
    -------
    bus : In(RegisterBusSignature())
    regions : Out(data.ArrayLayout(RegionLayout, n_regions))
        The committed region table (reset: every region empty, cap 8).
    flush : Out(1)
        One-cycle pulse: ``CONTROL.FLUSH`` was written.
    write_pending, idle : In(1)
        Status inputs (``STATUS`` bits 0 and 1).
    line_served : In(1), with ``line_view`` : In(4)
        A host line served from that view.
    dram_read : In(4), with ``read_view`` : In(4)
        Number of DRAM plane reads (0..8) wanted for a read of that view.
    dram_write, host_write : In(1)
        Event strobes.
    error : In(ErrorCause), with ``error_tag``, ``error_address``
        A request answered with an error (``NONE`` = no event).
    """

    def __init__(self, n_groups: int, pool_rows: int, n_regions: int):
        self.n_groups, self.pool_rows, self.n_regions = n_groups, pool_rows, n_regions
        super().__init__({
            "bus": In(RegisterBusSignature()),
            "regions": Out(data.ArrayLayout(RegionLayout, n_regions)),
            "flush": Out(1),
            "write_pending": In(1), "idle": In(1),
            "line_served": In(1), "line_view": In(4), "dram_read": In(4), "read_view": In(4),
            "dram_write": In(1), "host_write": In(1),
            "error": In(ErrorCause), "error_tag": In(TAG_BITS), "error_address": In(ADDRESS_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        shadow = Signal(data.ArrayLayout(RegionLayout, self.n_regions),
                        init=[{"cap": PLANES}] * self.n_regions)
        active = Signal.like(shadow)
        m.d.comb += self.regions.eq(active)

        counters = {name: Signal(32, name=name.lower()) for name in _COUNTERS}
        last_cause_tag, last_address = Signal(32), Signal(32)

        readable = {REGISTERS["ID"]: Const(DEVICE_ID, 32), REGISTERS["N_GROUPS"]: Const(self.n_groups, 32),
                    REGISTERS["CONFIG"]: Const(self.pool_rows << field_of("CONFIG", "POOL_ROWS").lsb
                                               | self.n_regions << field_of("CONFIG", "N_REGIONS").lsb, 32),
                    REGISTERS["STATUS"]: (self.idle << field_of("STATUS", "IDLE").lsb
                                          | self.write_pending << field_of("STATUS", "WRITE_PENDING").lsb),
                    REGISTERS["ERR_LAST_CAUSE_TAG"]: last_cause_tag,
                    REGISTERS["ERR_LAST_ADDRESS"]: last_address}
        readable.update({REGISTERS[name]: counter for name, counter in counters.items()})
        for region in range(self.n_regions):
            for field in _REGION_FIELDS:
                readable[region_register(region, field)] = shadow[region][field]
        with m.Switch(bus.addr):
            for address, value in readable.items():
                with m.Case(address):
                    m.d.sync += bus.r_data.eq(value)
            with m.Default():
                m.d.sync += bus.r_data.eq(0)

        # The event strobes come late in the cycle (from the sequencer's decision): they are
        # registered as they arrive, decoded into per-counter increments in the next cycle and added
        # in the one after, so a counter shows an event from the second cycle after it.
        events = {name: Signal.like(getattr(self, name), name=f"{name}_event")
                  for name in ("line_served", "line_view", "dram_read", "read_view", "dram_write", "host_write",
                               "error", "error_tag", "error_address")}
        for name, event in events.items():
            m.d.sync += event.eq(getattr(self, name))
        increments = {name: Signal(4, name=f"{name.lower()}_increment") for name in counters}
        for k in range(1, PLANES + 1):
            m.d.comb += [increments[f"LINES_SERVED_{k}"].eq(events["line_served"] & (events["line_view"] == k)),
                         increments[f"DRAM_READS_{k}"].eq(Mux(events["read_view"] == k, events["dram_read"], 0))]
        error = events["error"]
        m.d.comb += [increments["DRAM_WRITES"].eq(events["dram_write"]),
                     increments["HOST_WRITES"].eq(events["host_write"]),
                     increments["ERR_RANGE"].eq(error == ErrorCause.RANGE),
                     increments["ERR_OPCODE"].eq(error == ErrorCause.OPCODE),
                     increments["ERR_REFUSED"].eq(error == ErrorCause.REFUSED)]
        with m.If(error != ErrorCause.NONE):
            m.d.sync += [last_cause_tag.eq(error.as_value() << field_of("ERR_LAST_CAUSE_TAG", "CAUSE").lsb
                                           | events["error_tag"] << field_of("ERR_LAST_CAUSE_TAG", "TAG").lsb),
                         last_address.eq(events["error_address"][:32])]

        bad_write = Signal()
        clear = Signal()
        with m.If(bus.w_en):
            with m.Switch(bus.addr):
                with m.Case(REGISTERS["CONTROL"]):
                    m.d.comb += [clear.eq(bus.w_data[field_of("CONTROL", "CLEAR").lsb]),
                                 self.flush.eq(bus.w_data[field_of("CONTROL", "FLUSH").lsb])]
                    with m.If(bus.w_data[field_of("CONTROL", "COMMIT").lsb]):
                        m.d.sync += active.eq(shadow)
                for region in range(self.n_regions):
                    for field in ("base", "limit"):
                        with m.Case(region_register(region, field)):
                            m.d.sync += shadow[region][field].eq(bus.w_data)
                    with m.Case(region_register(region, "cap")):
                        with m.If((bus.w_data >= 1) & (bus.w_data <= PLANES)):
                            m.d.sync += shadow[region].cap.eq(bus.w_data)
                        with m.Else():
                            m.d.comb += bad_write.eq(1)
                with m.Default():
                    m.d.comb += bad_write.eq(1)

        # A clear drops the events of its own cycle and zeroes everything counted before (the
        # registered events of its cycle are dropped in the next).
        bad_event, cleared = Signal(), Signal()
        m.d.sync += [bad_event.eq(bad_write), cleared.eq(clear)]
        m.d.comb += increments["ERR_REGISTER"].eq(bad_event)
        for name, counter in counters.items():
            with m.If(clear | cleared):
                m.d.sync += counter.eq(0)
            with m.Else():
                m.d.sync += counter.eq(counter + increments[name])
        with m.If(clear | cleared):
            m.d.sync += [last_cause_tag.eq(0), last_address.eq(0)]
        return m
