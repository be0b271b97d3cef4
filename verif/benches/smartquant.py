"""cocotb bench: the SmartQuant controller against golden.bitplane.PlaneStoreModel.

Data, poison, DRAM contents and every counter are compared exactly with the
golden model, which is advanced in the order the controller accepts requests
(``verif.smartquant_host``). Responses are matched by tag, in any order.
"""

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from golden.bitplane import GROUP, LINE_BYTES, PLANES, read_view, to_planes
from hdl.smartquant.cxl_mem import ReqOpcode, RwDOpcode
from hdl.smartquant.register_map import DEVICE_ID, REGISTERS, field_of, region_register
from verif.bench_support import params, record_summary, rng, start_clock
from verif.bench_support import reset as hold_reset
from verif.coverage.smartquant import SmartQuantCoverage
from verif.smartquant_host import DramModel, SmartQuantBench, line_to_int


async def start(dut, dram: DramModel | None = None) -> SmartQuantBench:
    p = params()
    start_clock(dut)
    bench = SmartQuantBench(dut, rng(), n_groups=p["n_groups"], pool_rows=p["pool_rows"],
                            n_regions=p["n_regions"], dram=dram)
    await reset(dut, bench)
    return bench


async def reset(dut, bench: SmartQuantBench, cycles: int = 2):
    """Hold reset with every input idle; the DRAM model drops reads in flight (same reset domain)."""
    await RisingEdge(dut.clk)
    idle = dict.fromkeys(("host__req__valid", "host__rwd__valid", "host__drs__ready", "host__ndr__ready", "regs__w_en",
                          "regs__addr"), 0)
    if bench.external_dram:
        idle.update(dram__req__ready=0, dram__resp__valid=0)
    await hold_reset(dut, idle, cycles=cycles)
    bench.reset_state(bench.dram.planes(bench.n_groups) if bench.external_dram else bench.model.dram)


def random_weights(gen, n_groups: int) -> np.ndarray:
    """INT8 weights in -127..127 (symmetric quantization never produces -128)."""
    return gen.integers(-127, 128, n_groups * GROUP).astype(np.int8)


def write_tensor(bench: SmartQuantBench, q: np.ndarray, groups=None):
    """Queue view-8 writes of whole groups of ``q``, line by line in order."""
    lines = q.view(np.uint8).reshape(-1, LINE_BYTES)
    base = bench.view_map.base(PLANES)
    for g in groups if groups is not None else range(bench.n_groups):
        for line in range(PLANES):
            bench.write(base + (g * PLANES + line) * LINE_BYTES, lines[g * PLANES + line])


def stream_view(bench: SmartQuantBench, k: int):
    for line in range(bench.view_map.lines(k)):
        bench.read(bench.view_map.base(k) + line * LINE_BYTES)


async def check_counters(bench: SmartQuantBench) -> int:
    """Registers against the golden model and the bench's own counts; returns mismatches."""
    got, want = await bench.counters(), bench.expected_counters()
    wrong = {name: (got[name], value) for name, value in want.items() if got[name] != value}
    for name, (hw, golden) in wrong.items():
        bench.dut._log.error(f"register {name}: hardware {hw}, golden {golden}")
    return len(wrong)


async def quiesce(bench: SmartQuantBench, limit: int = 1000):
    """Wait until STATUS reports idle (flushes included), so DRAM holds what the model says."""
    for _ in range(limit):
        if await bench.reg_read(REGISTERS["STATUS"]) & field_of("STATUS", "IDLE").mask:
            return
    raise AssertionError(f"controller not idle after {limit} status reads")


def check_dram(bench: SmartQuantBench) -> int:
    """DRAM contents against the golden model's (external DRAM only); returns mismatching bursts."""
    if not bench.external_dram:
        return 0
    got = bench.dram.planes(bench.n_groups)
    bad = int(np.any(got != bench.model.dram, axis=-1).sum())
    if bad:
        bench.dut._log.error(f"{bad} DRAM bursts differ from the golden model")
    return bad


@cocotb.test()
async def write_then_stream_every_view(dut):
    """Write a tensor through view 8, then stream it at every k from an empty read buffer: data,
    traffic (exactly k/8 of the INT8 bytes) and throughput."""
    p = params()
    dram = DramModel(latency=p["dram_latency"], interval=p.get("dram_interval", 1))
    bench = await start(dut, dram)
    bench.max_outstanding = p["host_outstanding"]
    q = random_weights(bench.gen, bench.n_groups)
    write_tensor(bench, q)
    await bench.drain()
    await quiesce(bench)
    mismatches = check_dram(bench)                 # bench.mismatches are added before each reset
    if bench.external_dram and not np.array_equal(bench.dram.planes(bench.n_groups), to_planes(q)):
        mismatches += 1
        dut._log.error("DRAM does not hold the bit-plane layout of the written tensor")
    written_bursts = dram.writes

    per_k = {}
    for k in range(1, PLANES + 1):
        # Each view streams from an empty read buffer (a reset keeps DRAM): the groups the last
        # view left in the pool would otherwise be served with fewer bursts than k per group.
        mismatches += bench.mismatches + await check_counters(bench)
        await reset(dut, bench)
        reads_before, accepted_before = dram.reads, len(bench.accept_cycles)
        responses_before = len(bench.response_cycles)
        stream_view(bench, k)
        await bench.drain()
        first = bench.accept_cycles[accepted_before]
        last = bench.response_cycles[-1]
        lines = bench.view_map.lines(k)
        bursts = dram.reads - reads_before if bench.external_dram else bench.model.reads[k]
        per_k[k] = {"lines": lines, "cycles": last - first + 1, "lines_per_cycle": lines / (last - first + 1),
                    "weights_per_cycle": lines * LINE_BYTES * 8 / k / (last - first + 1),
                    "dram_bursts": bursts, "dram_bytes_per_weight": bursts * LINE_BYTES / (bench.n_groups * GROUP),
                    "golden_bursts": bench.model.reads[k]}
        assert len(bench.response_cycles) - responses_before == lines
        if bursts != bench.model.reads[k] or bursts != bench.n_groups * k:
            mismatches += 1
            dut._log.error(f"view {k}: {bursts} DRAM bursts, golden {bench.model.reads[k]}, "
                           f"k/8 of INT8 is {bench.n_groups * k}")
    mismatches += bench.mismatches + await check_counters(bench)
    dut._log.info("per view: " + ", ".join(f"k={k} {v['lines_per_cycle']:.3f} lines/cycle "
                                            f"{v['dram_bytes_per_weight']:.3f} B/weight" for k, v in per_k.items()))
    record_summary("write_then_stream_every_view", transactions=bench.checked, mismatches=mismatches,
                   written_bursts=written_bursts, dram_latency=dram.latency, dram_bursts_per_cycle=1 / dram.interval,
                   per_view=per_k)
    assert mismatches == 0


@cocotb.test()
async def unloaded_read_latency(dut):
    """One read at a time: cycles from acceptance to response, for a miss and for a buffered hit."""
    p = params()
    dram = DramModel(latency=p["dram_latency"])
    bench = await start(dut, dram)
    q = random_weights(bench.gen, bench.n_groups)
    write_tensor(bench, q, groups=[0, 1])
    await bench.drain()
    figures = {}
    for name, line in (("miss", 8 * 3), ("hit", 8 * 3 + 1)):        # group 3 at view 8: line 0, then line 1
        await quiesce(bench)                                           # the write's flush has finished
        before = len(bench.latencies)
        bench.read(bench.view_map.base(PLANES) + line * LINE_BYTES)
        await bench.drain()
        figures[name] = bench.latencies[before]
    bench.read(bench.view_map.base(PLANES))                            # group 0, just written: a hit
    await bench.drain()
    figures["dram_latency"] = dram.latency
    figures["controller_cycles_on_miss"] = figures["miss"] - dram.latency if bench.external_dram else None
    record_summary("unloaded_read_latency", transactions=bench.checked, mismatches=bench.mismatches, **figures)
    dut._log.info(f"latency (cycles): {figures}")
    assert bench.mismatches == 0


@cocotb.test()
async def random_traffic_with_backpressure(dut):
    """Random reads and writes at every view, errors mixed in, cap changes, back-pressure everywhere;
    with ``reset_every`` (stimulus), a reset in the middle of the traffic about that often (ops).

    Every request is answered exactly once or was in flight at a reset (which answers nothing):
    a response to an unknown or answered tag is a mismatch, and the counts must add up."""
    p = params()
    bench = await start(dut, DramModel(latency=p["dram_latency"], interval=2, reorder=True))
    gen = bench.gen
    bench.p_valid, bench.p_ready, bench.max_outstanding = 0.7, 0.6, p["host_outstanding"]
    write_tensor(bench, random_weights(gen, bench.n_groups))
    await bench.drain()

    async def regions():
        await bench.set_region(0, 0, bench.n_groups // 2, int(gen.integers(1, 9)))
        await bench.set_region(1, bench.n_groups // 4, bench.n_groups, int(gen.integers(1, 9)))

    await regions()
    vm, n_ops = bench.view_map, p["random_ops"]
    coverage = SmartQuantCoverage()
    reset_every = p.get("reset_every")
    next_reset = int(gen.integers(reset_every // 2, 3 * reset_every // 2)) if reset_every else None
    issued = dropped = resets = earlier_mismatches = 0
    answered = -bench.checked                                    # the tensor's writes came before
    for i in range(n_ops):
        if next_reset is not None and i == next_reset:
            wait = int(gen.integers(0, 30))
            if wait < 10:                                           # a third of resets: fewer in flight
                await bench.run_until(lambda: len(bench.expected) + len(bench.req_queue) + len(bench.rwd_queue) < 16)
            await bench.cycles(wait)                                # mid-traffic, anywhere
            in_flight = len(bench.expected) + len(bench.req_queue) + len(bench.rwd_queue)
            coverage.reset(in_flight)
            dropped += in_flight
            answered += bench.checked
            earlier_mismatches += bench.mismatches
            coverage.reads(bench.read_log)                           # the log starts again at the reset
            await reset(dut, bench)
            await regions()
            resets += 1
            next_reset = i + int(gen.integers(reset_every // 2, 3 * reset_every // 2))
        issued += 1
        kind = gen.random()
        k = int(gen.integers(1, PLANES + 1))
        address = vm.base(k) + int(gen.integers(0, vm.lines(k))) * LINE_BYTES
        if kind < 0.55:
            data_opcode = gen.random() < 0.2
            bench.read(address, ReqOpcode.MEM_RD_DATA if data_opcode else ReqOpcode.MEM_RD)
            coverage.request("read with data opcode" if data_opcode else "read", k)
        elif kind < 0.58:
            bench.read(vm.base(k) + (vm.lines(k) + int(gen.integers(0, 4))) * LINE_BYTES)   # past the view
            coverage.request("read past the view", k)
        elif kind < 0.60:
            bench.read(PLANES * vm.stride + int(gen.integers(0, 1 << 20)) * LINE_BYTES)     # above every view
            coverage.request("read above every view", k)
        elif kind < 0.62:
            bench.read(address, ReqOpcode.MEM_SPEC_RD)                                       # not served
            coverage.request("unserved opcode", k)
        else:
            group = int(gen.integers(0, bench.n_groups))
            line = gen.integers(0, 256, LINE_BYTES).astype(np.uint8)
            target = vm.base(PLANES) + (group * PLANES + int(gen.integers(0, PLANES))) * LINE_BYTES
            roll = gen.random()
            if roll < 0.80:
                bench.write(target, line)
                coverage.request("write", PLANES)
            elif roll < 0.87:
                bench.write(address if k < PLANES else vm.base(1), line)                     # not view 8
                coverage.request("write not in view 8", k if k < PLANES else 1)
            elif roll < 0.94:
                bench.write(target, line, poison=1)
                coverage.request("poisoned write", PLANES)
            else:
                bench.write(target, line, RwDOpcode.MEM_WR_PTL)
                coverage.request("partial write", PLANES)
        if i % 97 == 96:
            region, cap = int(gen.integers(0, 2)), int(gen.integers(1, 9))      # drawn in this order
            bench.queue_cap_change(region, cap)
            coverage.cap(cap)
        if i % 64 == 63:
            await bench.run_until(lambda: len(bench.req_queue) + len(bench.rwd_queue) < 16)
    await bench.drain()
    await bench.reg_write(REGISTERS["CONTROL"], field_of("CONTROL", "FLUSH").mask)        # quiet: the flush is ordered
    bench.model.flush()
    await quiesce(bench)
    coverage.reads(bench.read_log)
    mismatches = earlier_mismatches + bench.mismatches + check_dram(bench) + await check_counters(bench)
    status = await bench.reg_read(REGISTERS["STATUS"])
    if status != field_of("STATUS", "IDLE").mask:                          # idle, no write pending
        mismatches += 1
        dut._log.error(f"STATUS {status:#x} after the flush, want idle and no pending write")
    answered += bench.checked
    if answered + dropped != issued:
        mismatches += 1
        dut._log.error(f"{issued} requests: {answered} checked and {dropped} dropped at resets do not add up")
    record_summary("random_traffic_with_backpressure", transactions=answered, mismatches=mismatches,
                   requests=issued, dropped_at_resets=dropped, resets=resets,
                   errors={cause.name: n for cause, n in bench.errors.items()},
                   dram_reads=sum(bench.model.reads), dram_writes=bench.model.writes)
    assert mismatches == 0


def consistent_caps(planes_group: np.ndarray, k: int, line: int, got: int) -> set:
    """Every cap 1..8 under which ``got`` is line ``line`` of view ``k`` of this group."""
    return {cap for cap in range(1, PLANES + 1)
            if line_to_int(read_view(planes_group[None], k, caps=cap)[line]) == got}


@cocotb.test()
async def cap_changes_are_atomic_per_group(dut):
    """Stream a view while the region cap keeps changing: no group mixes two settings."""
    p = params()
    bench = await start(dut, DramModel(latency=p["dram_latency"], interval=1))
    gen = bench.gen
    bench.max_outstanding = p["host_outstanding"]
    q = random_weights(gen, bench.n_groups)
    write_tensor(bench, q)
    await bench.drain()
    await bench.set_region(0, 0, bench.n_groups, 8)
    planes = to_planes(q)
    k = 6
    observed: dict = {}                              # (pass, group) -> list of (line, data)
    changes = 0
    for rep in range(p["cap_passes"]):
        first = len(bench.received)
        stream_view(bench, k)
        for _ in range(bench.n_groups):              # spread over the pass
            bench.queue_cap_change(0, int(gen.integers(1, PLANES + 1)), after=int(gen.integers(1, 30)))
            changes += 1
        await bench.drain()
        for address, data in bench.received[first:]:
            where = bench.view_map.decode(address)
            observed.setdefault((rep, where.group), []).append((where.line, data))
    mixed = 0
    for (rep, group), lines in observed.items():
        common = set(range(1, PLANES + 1))
        for line, data in lines:
            common &= consistent_caps(planes[group], k, line, data)
        mixed += not common
    mismatches = bench.mismatches + mixed
    record_summary("cap_changes_are_atomic_per_group", transactions=bench.checked, mismatches=mismatches,
                   group_visits=len(observed), cap_changes=changes, mixed_groups=mixed)
    assert mismatches == 0


@cocotb.test()
async def registers_and_error_reporting(dut):
    """Identification, refused register writes, shadow table and commit, last error, counter clear."""
    bench = await start(dut)
    mismatches = 0

    def expect(name, got, want):
        nonlocal mismatches
        if got != want:
            mismatches += 1
            dut._log.error(f"{name}: got {got:#x}, want {want:#x}")

    expect("ID", await bench.reg_read(REGISTERS["ID"]), DEVICE_ID)
    expect("N_GROUPS", await bench.reg_read(REGISTERS["N_GROUPS"]), bench.n_groups)
    expect("CONFIG", await bench.reg_read(REGISTERS["CONFIG"]), bench.pool_rows << field_of("CONFIG", "POOL_ROWS").lsb
           | bench.n_regions << field_of("CONFIG", "N_REGIONS").lsb)
    for bad_cap in (0, 9, 0xFFFF_FFFF):
        await bench.reg_write(region_register(0, "cap"), bad_cap)
    expect("cap after refused writes", await bench.reg_read(region_register(0, "cap")), PLANES)
    await bench.reg_write(REGISTERS["ID"], 1)                               # read-only
    await bench.reg_write(0xFF, 1)                                          # unmapped
    expect("unmapped read", await bench.reg_read(0xFF), 0)

    write_tensor(bench, random_weights(bench.gen, bench.n_groups), groups=[0])
    await bench.drain()
    await bench.set_region(0, 0, 1, 2, commit=False)                        # shadow only
    expect("shadow cap", await bench.reg_read(region_register(0, "cap")), 2)
    for g in range(1, bench.pool_rows + 1):                                 # evict group 0 (8 slots each)
        bench.read(bench.view_map.base(PLANES) + g * PLANES * LINE_BYTES)
    bench.read(bench.view_map.base(4))                                      # not committed: 4 planes
    await bench.drain()
    await bench.reg_write(REGISTERS["CONTROL"], field_of("CONTROL", "COMMIT").mask)
    for g in range(1, bench.pool_rows + 1):
        bench.read(bench.view_map.base(PLANES) + g * PLANES * LINE_BYTES)
    bench.read(bench.view_map.base(4))                                      # reloaded under cap 2
    await bench.drain()
    if bench.model.reads[4] != 4 + 2:                                       # the scenario did what it says
        mismatches += 1
        dut._log.error(f"view-4 reads fetched {bench.model.reads[4]} planes, want 4 (cap 8) + 2 (cap 2)")
    bench.read(PLANES * bench.view_map.stride + 12 * LINE_BYTES)           # outside: poisoned
    await bench.drain()
    mismatches += bench.mismatches + await check_counters(bench)
    await bench.reg_write(REGISTERS["CONTROL"], field_of("CONTROL", "CLEAR").mask)
    counters = await bench.counters()
    nonzero = {name: value for name, value in counters.items() if value}
    if nonzero:
        mismatches += 1
        dut._log.error(f"counters not cleared: {nonzero}")
    record_summary("registers_and_error_reporting", transactions=bench.checked, mismatches=mismatches)
    assert mismatches == 0


@cocotb.test()
async def reset_mid_traffic_starts_clean(dut):
    """Reset with requests, DRAM reads and a partial write group in flight; then exact again."""
    p = params()
    bench = await start(dut, DramModel(latency=p["dram_latency"], interval=2))
    gen = bench.gen
    bench.p_valid, bench.p_ready = 0.9, 0.5
    q = random_weights(gen, bench.n_groups)
    write_tensor(bench, q)
    await bench.drain()
    for _ in range(3 * bench.n_groups):
        k = int(gen.integers(1, PLANES + 1))
        bench.read(bench.view_map.base(k) + int(gen.integers(0, bench.view_map.lines(k))) * LINE_BYTES)
    bench.write(bench.view_map.base(PLANES), np.full(LINE_BYTES, 0x55, np.uint8))
    await bench.cycles(int(gen.integers(10, 40)))
    in_flight = len(bench.expected) + len(bench.req_queue)
    await reset(dut, bench)                                         # forgets every old tag
    await bench.cycles(2 * p["dram_latency"])                       # a late response would be a mismatch now
    counters = await bench.counters()
    stale = {name: value for name, value in counters.items() if value}
    bench.p_valid, bench.p_ready = 0.8, 0.8
    write_tensor(bench, random_weights(gen, bench.n_groups), groups=range(bench.n_groups // 2))
    for k in (3, 8):
        stream_view(bench, k)
    await bench.drain()
    await quiesce(bench)
    mismatches = bench.mismatches + check_dram(bench) + await check_counters(bench) + bool(stale)
    if stale:
        dut._log.error(f"counters survived reset: {stale}")
    record_summary("reset_mid_traffic_starts_clean", transactions=bench.checked, mismatches=mismatches,
                   requests_in_flight_at_reset=in_flight)
    assert mismatches == 0
