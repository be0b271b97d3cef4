"""Bus-functional models for the SmartQuant controller bench: CXL.mem host, DRAM, register port.

One :class:`SmartQuantBench` drives every interface of the controller from a
single per-cycle loop (:meth:`SmartQuantBench.run`): it writes inputs after the
rising edge and samples handshakes in the ReadOnly phase, so the order of
events is exactly the order the hardware sees them. The golden model
(:class:`golden.bitplane.PlaneStoreModel`) is advanced when the controller
*accepts* a request, in acceptance order, which is the order the controller
serves requests in; the expected response is stored under the request's tag and
checked when a response with that tag arrives (in any order). Every request must
get exactly one response.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from golden.bitplane import LINE_BYTES, PLANES, PlaneStoreModel, ViewMap
from golden.dram import BankedDram
from hdl.smartquant.cxl_mem import DRSLayout, NDRLayout, ReqLayout, ReqOpcode, RwDLayout, RwDOpcode
from hdl.smartquant.dram_port import DramRequestLayout
from hdl.smartquant.register_map import REGISTERS, field_of, region_register

CONTROL_CLEAR, CONTROL_COMMIT = field_of("CONTROL", "CLEAR").mask, field_of("CONTROL", "COMMIT").mask
from hdl.smartquant.view_decoder import ErrorCause
from verif.bench_support import pack, resolved, split_struct

__all__ = ["SmartQuantBench", "line_to_int", "int_to_line"]

READ_OPCODES = (ReqOpcode.MEM_RD, ReqOpcode.MEM_RD_DATA)


def line_to_int(line) -> int:
    """64 bytes (byte 0 = bits 0..7) as the 512-bit bus value."""
    return int.from_bytes(np.asarray(line, np.uint8).tobytes(), "little")


def int_to_line(value: int) -> np.ndarray:
    return np.frombuffer(int(value).to_bytes(LINE_BYTES, "little"), np.uint8)


@dataclass
class Expected:
    channel: str                       # "drs" or "ndr"
    line: np.ndarray | None = None     # DRS data; None = poisoned
    address: int = 0
    accepted: int = 0                  # cycle the controller took the request
    read: dict | None = None           # an in-view read: what :attr:`SmartQuantBench.read_log` records


@dataclass
class DramModel:
    """Burst memory taking one request per ``interval`` cycles, with fixed or DDR timing.

    Fixed (``banked`` None): a read answers ``latency`` cycles after it is accepted. Banked:
    ``banked`` (a :class:`golden.dram.BankedDram`) times each burst on a DDR part, row hits
    and misses and refresh included, with the controller clocked at ``clock_ns``; a read
    answers ``latency`` cycles (the PHY and controller pipeline) after the DRAM's data is
    complete, and the model counts activates, row hits and energy.

    ``reorder`` returns due responses in random order. Writes take effect when
    accepted; a read returns the contents at its acceptance (in-order semantics).
    """

    latency: int = 20
    interval: int = 1
    reorder: bool = False
    banked: BankedDram | None = None
    clock_ns: float = 1000 / 150
    memory: dict = field(default_factory=dict)
    reads: int = 0
    writes: int = 0
    in_flight: list = field(default_factory=list)          # (due cycle, id, data)
    next_accept: int = 0

    def due(self, cycle: int, address: int, write: bool) -> int:
        """The cycle a read accepted in ``cycle`` answers (writes: timed and counted only)."""
        if self.banked is None:
            return cycle + self.latency
        tck = self.banked.device.tCK_ns
        done = self.banked.access(cycle * self.clock_ns / tck, address, write)
        return max(cycle + 1, math.ceil(done * tck / self.clock_ns)) + self.latency

    def describe(self) -> dict:
        """The model, for bench summaries."""
        if self.banked is None:
            return {"model": "fixed", "latency": self.latency, "bursts_per_cycle": 1 / self.interval}
        return {"model": f"banked {self.banked.device.name}", "extra_latency": self.latency,
                "clock_ns": self.clock_ns, "bursts_per_cycle": 1 / self.interval}

    def planes(self, n_groups: int, base: int = 0) -> np.ndarray:
        out = np.zeros((n_groups, PLANES, LINE_BYTES), np.uint8)
        for g in range(n_groups):
            for p in range(PLANES):
                out[g, p] = int_to_line(self.memory.get(base + g * PLANES + p, 0))
        return out


class SmartQuantBench:
    """Host, DRAM model, register port and scoreboard around one controller (``dut``).

    Parameters
    ----------
    dut : cocotb handle of ``SmartQuantController`` (or ``SmartQuantDevice``: then the
        DRAM is on chip and only the controller's counters see traffic)
    gen : numpy Generator (seeded from the printed cocotb seed)
    n_groups, pool_rows, n_regions : the controller's configuration
    """

    def __init__(self, dut, gen, *, n_groups: int, pool_rows: int, n_regions: int, dram: DramModel | None = None):
        self.dut, self.gen = dut, gen
        self.view_map = ViewMap(n_groups)
        self.n_groups, self.pool_rows, self.n_regions = n_groups, pool_rows, n_regions
        self.external_dram = hasattr(dut, "dram__req__valid")
        self.dram = dram or DramModel()
        self.p_valid = self.p_ready = 1.0
        self.max_outstanding = 32
        self.cycle = 0
        self.reset_state()

    def reset_state(self, planes=None):
        """Forget everything in flight (after a reset); DRAM contents stay."""
        self.model = PlaneStoreModel(self.view_map, planes=planes, pool_rows=self.pool_rows)
        self.req_queue, self.rwd_queue, self.reg_queue = deque(), deque(), deque()
        self.expected: dict[int, Expected] = {}
        self.shadow = [[0, 0, PLANES] for _ in range(self.n_regions)]
        self.active = [tuple(entry) for entry in self.shadow]     # committed table (base, limit, cap)
        self.bad_register_writes = 0
        self.cleared_at = None
        self.errors = {cause: 0 for cause in ErrorCause if cause != ErrorCause.NONE}
        self.last_error = (0, 0, 0)
        self.mismatches, self.checked = 0, 0
        self.latencies: list[int] = []
        self.received: list[tuple[int, int]] = []            # (byte address, data) of every DRS, in arrival order
        self.accept_cycles: list[int] = []
        self.response_cycles: list[int] = []
        self.reg_result = None
        self.dram.in_flight.clear()
        self.read_log: list[dict] = []          # per answered in-view read: k, cap, buffer outcome, held
        self._held_requests: set[int] = set()   # tags offered and not taken in some cycle
        self._held_responses: set[int] = set()  # DRS tags offered while the host was not ready

    # --- stimulus ------------------------------------------------------------------------
    def _tag(self) -> int:
        tag = int(self.gen.integers(0, 1 << 16))
        while tag in self.expected or any(op["tag"] == tag for op in (*self.req_queue, *self.rwd_queue)):
            tag = (tag + 1) & 0xFFFF
        return tag

    def read(self, address: int, opcode=ReqOpcode.MEM_RD):
        """Queue a read of the 64-byte host line at byte ``address``."""
        self.req_queue.append({"opcode": opcode, "tag": self._tag(), "address": address // LINE_BYTES})

    def write(self, address: int, line, opcode=RwDOpcode.MEM_WR, poison: int = 0):
        """Queue a write of 64 bytes ``line`` at byte ``address``."""
        self.rwd_queue.append({"opcode": opcode, "tag": self._tag(), "address": address // LINE_BYTES,
                               "poison": poison, "data": line_to_int(line)})

    def region_cap(self, group: int) -> int:
        for base, limit, cap in self.active:
            if base <= group < limit:
                return cap
        return PLANES

    # --- golden model at acceptance --------------------------------------------------------
    def _error(self, cause: ErrorCause, tag: int, line_address: int):
        self.errors[cause] += 1
        self.last_error = (cause.value, tag, line_address & 0xFFFF_FFFF)

    def _accept_read(self, op):
        address = op["address"] * LINE_BYTES
        if op["opcode"] not in READ_OPCODES:
            self._error(ErrorCause.OPCODE, op["tag"], op["address"])
            line = None
        else:
            where = self.view_map.decode(address)
            cap = self.region_cap(where.group) if where else PLANES
            line = self.model.read(address, cap)
            if line is None:
                self._error(ErrorCause.RANGE, op["tag"], op["address"])
            else:
                read = {"k": where.k, "cap": cap, "buffer": self.model.last_read,
                        "request held": op["tag"] in self._held_requests}
                self.expected[op["tag"]] = Expected("drs", line, address, self.cycle, read)
                self._held_requests.discard(op["tag"])
                return
        self._held_requests.discard(op["tag"])
        self.expected[op["tag"]] = Expected("drs", line, address, self.cycle)

    def _accept_write(self, op):
        address = op["address"] * LINE_BYTES
        if op["opcode"] != RwDOpcode.MEM_WR:
            self._error(ErrorCause.OPCODE, op["tag"], op["address"])
        elif op["poison"]:
            self._error(ErrorCause.REFUSED, op["tag"], op["address"])
        else:
            where = self.view_map.decode(address)
            cap = self.region_cap(where.group) if where else PLANES
            if not self.model.write(address, int_to_line(op["data"]), cap):
                self._error(ErrorCause.REFUSED, op["tag"], op["address"])
        self.expected[op["tag"]] = Expected("ndr", None, address, self.cycle)

    def _response(self, channel: str, tag: int, poison: int = 0, data: int = 0):
        want = self.expected.pop(tag, None)
        self.response_cycles.append(self.cycle)
        if want is None or want.channel != channel:
            self.mismatches += 1
            self.dut._log.error(f"{channel} with tag {tag:#06x} answers no outstanding {channel} request")
            return
        self.checked += 1
        self.latencies.append(self.cycle - want.accepted)
        if channel == "ndr":
            return
        self.received.append((want.address, data))
        if want.read is not None:
            self.read_log.append({**want.read, "response held": tag in self._held_responses})
        self._held_responses.discard(tag)
        if want.line is None:
            ok = poison == 1 and data == 0
        else:
            ok = poison == 0 and data == line_to_int(want.line)
        if not ok:
            self.mismatches += 1
            if self.mismatches <= 5:
                self.dut._log.error(f"DRS tag {tag:#06x} address {want.address:#x}: got poison={poison} "
                                    f"data={data:#x}, want {'poison' if want.line is None else hex(line_to_int(want.line))}")

    # --- the per-cycle loop ----------------------------------------------------------------
    def idle(self) -> bool:
        return not (self.req_queue or self.rwd_queue or self.expected or self.reg_queue)

    async def run_until(self, condition, limit: int = 200_000):
        """Run cycles until ``condition()`` holds (checked after each cycle)."""
        start = self.cycle
        while not condition():
            if self.cycle - start > limit:
                raise AssertionError(f"timeout after {limit} cycles: {len(self.expected)} responses missing, "
                                     f"{len(self.req_queue)} reads and {len(self.rwd_queue)} writes not taken")
            await self.step()

    async def drain(self, limit: int = 200_000):
        await self.run_until(self.idle, limit)

    async def cycles(self, n: int):
        for _ in range(n):
            await self.step()

    async def step(self):
        dut, gen = self.dut, self.gen
        await RisingEdge(dut.clk)
        self.cycle += 1
        room = len(self.expected) < self.max_outstanding
        offer_req = bool(self.req_queue) and room and gen.random() < self.p_valid
        offer_rwd = bool(self.rwd_queue) and room and gen.random() < self.p_valid
        dut.host__req__valid.value = int(offer_req)
        if offer_req:
            op = self.req_queue[0]
            dut.host__req__payload.value = pack(ReqLayout, op)
        dut.host__rwd__valid.value = int(offer_rwd)
        if offer_rwd:
            dut.host__rwd__payload.value = pack(RwDLayout, self.rwd_queue[0])
        drs_ready = gen.random() < self.p_ready
        ndr_ready = gen.random() < self.p_ready
        dut.host__drs__ready.value = int(drs_ready)
        dut.host__ndr__ready.value = int(ndr_ready)

        reg = self.reg_queue[0] if self.reg_queue else None
        dut.regs__w_en.value = int(reg is not None and reg[1] is not None)
        if reg is not None and reg[0] is not None:
            dut.regs__addr.value = reg[0]
            if reg[1] is not None:
                dut.regs__w_data.value = reg[1]

        if self.external_dram:
            self._drive_dram()

        await ReadOnly()
        if offer_req and dut.host__req__ready.value == 1:
            self.accept_cycles.append(self.cycle)
            self._accept_read(self.req_queue.popleft())
        elif offer_req:
            self._held_requests.add(self.req_queue[0]["tag"])
        if offer_rwd and dut.host__rwd__ready.value == 1:
            self.accept_cycles.append(self.cycle)
            self._accept_write(self.rwd_queue.popleft())
        if drs_ready and dut.host__drs__valid.value == 1:
            fields = split_struct(resolved(dut.host__drs__payload), DRSLayout)
            self._response("drs", fields["tag"], fields["poison"], fields["data"])
        elif dut.host__drs__valid.value == 1:
            self._held_responses.add(split_struct(resolved(dut.host__drs__payload), DRSLayout)["tag"])
        if ndr_ready and dut.host__ndr__valid.value == 1:
            fields = split_struct(resolved(dut.host__ndr__payload), NDRLayout)
            self._response("ndr", fields["tag"])
        if reg is not None:
            self._register_step(reg)
        if self.external_dram:
            self._sample_dram()

    # --- DRAM model -----------------------------------------------------------------------------
    def _drive_dram(self):
        dut, dram = self.dut, self.dram
        dut.dram__req__ready.value = int(self.cycle >= dram.next_accept)
        due = [i for i, (when, _, _) in enumerate(dram.in_flight) if when <= self.cycle]
        self._resp_index = None
        if due:
            self._resp_index = int(self.gen.choice(due)) if dram.reorder else due[0]
            _, ident, value = dram.in_flight[self._resp_index]
            dut.dram__resp__payload.value = ident | value << self._id_width()
        dut.dram__resp__valid.value = int(self._resp_index is not None)

    def _id_width(self) -> int:
        return len(self.dut.dram__resp__payload) - 512

    def _sample_dram(self):
        dut, dram = self.dut, self.dram
        if self._resp_index is not None and dut.dram__resp__ready.value == 1:
            dram.in_flight.pop(self._resp_index)
        if dut.dram__req__valid.value == 1 and dut.dram__req__ready.value == 1:
            layout = DramRequestLayout(len(dut.dram__req__payload) - 513 - self._id_width(), self._id_width())
            req = split_struct(resolved(dut.dram__req__payload), layout)
            dram.next_accept = self.cycle + dram.interval
            due = dram.due(self.cycle, req["address"], bool(req["write"]))
            if req["write"]:
                dram.memory[req["address"]] = req["data"]
                dram.writes += 1
            else:
                dram.reads += 1
                dram.in_flight.append((due, req["id"], dram.memory.get(req["address"], 0)))

    # --- register port ------------------------------------------------------------------------
    def _register_step(self, reg):
        address, value, stage = reg
        if address is None:                       # a pause of `stage` cycles on the register port
            if stage <= 1:
                self.reg_queue.popleft()
            else:
                self.reg_queue[0] = (None, None, stage - 1)
            return
        if value is not None:
            self.reg_queue.popleft()
            self._register_written(address, value)
            return
        if stage == 0:                            # address presented; data the next cycle
            self.reg_queue[0] = (address, None, 1)
        else:
            self.reg_result = resolved(self.dut.regs__r_data)
            self.reg_queue.popleft()

    def _register_written(self, address: int, value: int):
        """The register file's write semantics (docs/smartquant.md, Registers), as the bench sees them."""
        fields = {region_register(r, f): (r, i) for r in range(self.n_regions)
                  for i, f in enumerate(("base", "limit", "cap"))}
        if address == REGISTERS["CONTROL"]:
            if value & CONTROL_CLEAR:
                self.cleared_at = self.cycle
            if value & CONTROL_COMMIT:                       # applies after this cycle's acceptances
                self.active = [tuple(self.shadow[r]) for r in range(self.n_regions)]
        elif address in fields and (fields[address][1] != 2 or 1 <= value <= PLANES):
            region, index = fields[address]
            self.shadow[region][index] = value
        else:
            self.bad_register_writes += 1

    async def reg_write(self, address: int, value: int):
        self.reg_queue.append((address, value, 0))
        await self.run_until(lambda: not self.reg_queue)

    async def reg_read(self, address: int) -> int:
        self.reg_queue.append((address, None, 0))
        await self.run_until(lambda: not self.reg_queue)
        return self.reg_result

    async def set_region(self, region: int, base: int, limit: int, cap: int, commit: bool = True):
        """Write a region entry (shadow) and optionally commit the table."""
        for name, value in (("base", base), ("limit", limit), ("cap", cap)):
            await self.reg_write(region_register(region, name), value)
        if commit:
            await self.reg_write(REGISTERS["CONTROL"], CONTROL_COMMIT)

    def queue_cap_change(self, region: int, cap: int, after: int = 0):
        """Queue (without waiting) a pause of ``after`` cycles, a new cap for ``region`` and a commit."""
        if after:
            self.reg_queue.append((None, None, after))
        self.reg_queue.append((region_register(region, "cap"), cap, 0))
        self.reg_queue.append((REGISTERS["CONTROL"], CONTROL_COMMIT, 0))

    async def counters(self) -> dict:
        names = [n for n in REGISTERS if n.startswith(("LINES_", "DRAM_", "HOST_", "ERR_"))]
        return {name: await self.reg_read(REGISTERS[name]) for name in names}

    def expected_counters(self) -> dict:
        want = {f"LINES_SERVED_{k}": self.model.lines[k] for k in range(1, PLANES + 1)}
        want.update({f"DRAM_READS_{k}": self.model.reads[k] for k in range(1, PLANES + 1)})
        want.update({"DRAM_WRITES": self.model.writes, "HOST_WRITES": self.model.host_writes,
                     "ERR_RANGE": self.errors[ErrorCause.RANGE], "ERR_OPCODE": self.errors[ErrorCause.OPCODE],
                     "ERR_REFUSED": self.errors[ErrorCause.REFUSED], "ERR_REGISTER": self.bad_register_writes,
                     "ERR_LAST_CAUSE_TAG": (self.last_error[0] << field_of("ERR_LAST_CAUSE_TAG", "CAUSE").lsb
                                            | self.last_error[1] << field_of("ERR_LAST_CAUSE_TAG", "TAG").lsb),
                     "ERR_LAST_ADDRESS": self.last_error[2]})
        return want
