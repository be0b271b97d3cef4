"""cocotb bench: long sequential reads of the SmartQuant controller at every view, measured.

The DRAM is preloaded (random weights, no host writes), then the first ``stream_lines``
lines of each view ``k`` (rounded up to whole groups) are read in order, with the host keeping ``host_outstanding`` reads
in flight. Every response is checked against the golden model as in
``verif.benches.smartquant``. The summary gives, per ``k``, the steady-state host lines per
cycle (responses after the first ``warmup`` ones, so the pipeline fill is excluded), the
rate over the whole stream, and the limit ``min(lane rate, DRAM burst rate)`` (with DDR4 timing, the
rates the controller cannot exceed after a refresh are scaled by ``1 - tRFC / tREFI``): one host line
of view ``k`` costs one DRAM burst on average (``k`` bursts per group, ``k`` lines).

Stimulus: ``stream_lines`` (default 1024), ``warmup`` (128), ``host_outstanding`` (64),
``dram_interval`` (cycles per DRAM burst, 1), ``dram_latency`` (20), ``dram_model``
(``"fixed"`` or ``"banked"``: DDR4-3200 timing from ``golden.dram`` at ``clock_mhz``, 150).
"""

import cocotb

from golden.bitplane import LINE_BYTES, PLANES, to_planes
from golden.dram import BankedDram
from verif.bench_support import params, record_summary
from verif.benches.smartquant import random_weights, reset, start
from verif.smartquant_host import DramModel, line_to_int


def dram_from_params(p) -> DramModel:
    interval = p.get("dram_interval", 1)
    latency = p.get("dram_latency", 20)
    if p.get("dram_model", "fixed") == "banked":
        return DramModel(latency=latency, interval=interval, banked=BankedDram(), clock_ns=1000 / p.get("clock_mhz", 150))
    return DramModel(latency=latency, interval=interval)


@cocotb.test()
async def long_sequential_stream_every_view(dut):
    """Read the first ``stream_lines`` lines of every view in order: exact data, and the rate."""
    p = params()
    dram = dram_from_params(p)
    bench = await start(dut, dram)
    bench.max_outstanding = p.get("host_outstanding", 64)
    n_groups, lines_wanted, warmup = p["n_groups"], p.get("stream_lines", 1024), p.get("warmup", 128)
    planes = to_planes(random_weights(bench.gen, n_groups))
    for g in range(n_groups):
        for plane in range(PLANES):
            dram.memory[g * PLANES + plane] = line_to_int(planes[g, plane])
    await reset(dut, bench)                        # the golden model starts from these DRAM contents
    # The limit: the DRAM takes a request per `interval` cycles, and bursts reach the controller at
    # most at the lane rate. With DDR4 timing no burst arrives while the device refreshes, so the
    # part of the rate that cannot be caught up afterwards (the lane rate, the column rate) shrinks
    # by the refresh availability, 1 - tRFC / tREFI.
    lane_rate = p.get("lane_bits", 512) / 512
    limit = min(lane_rate, 1 / dram.interval)
    if dram.banked is not None:
        device = dram.banked.device
        limit = min(1 / dram.interval,
                    device.refresh_availability * min(lane_rate, dram.clock_ns * device.peak_bursts_per_ns))
    per_view = {}
    for k in range(1, PLANES + 1):
        lines = min(-(-lines_wanted // k) * k, bench.view_map.lines(k))      # whole groups
        if dram.banked is not None:
            dram.banked.clear()
        reads_before, responses_before = dram.reads, len(bench.response_cycles)
        first_accept = len(bench.accept_cycles)
        for line in range(lines):
            bench.read(bench.view_map.base(k) + line * LINE_BYTES)
        await bench.drain(limit=100 * lines + 10_000)
        times = bench.response_cycles[responses_before:]
        assert len(times) == lines, f"view {k}: {len(times)} responses for {lines} reads"
        start_cycle = bench.accept_cycles[first_accept]
        steady = (lines - 1 - warmup) / (times[-1] - times[warmup]) if lines > warmup + 1 else None
        figures = {"lines": lines, "lines_per_cycle": steady,
                   "lines_per_cycle_with_fill": lines / (times[-1] - start_cycle + 1),
                   "limit": limit, "dram_bursts": dram.reads - reads_before}
        if steady is not None:
            figures["fraction_of_limit"] = steady / limit
        if dram.banked is not None:
            counters = dram.banked.counters
            figures.update(row_hit_rate=counters.row_hit_rate, activates=counters.activates,
                           refreshes=counters.refreshes, dram_energy_pj=dram.banked.energy_pj())
        per_view[k] = figures
    mismatches = bench.mismatches
    dut._log.info("per view: " + ", ".join(
        f"k={k} {v['lines_per_cycle']:.3f} of {v['limit']:.3f} lines/cycle" for k, v in per_view.items()
        if v["lines_per_cycle"] is not None))
    record_summary("long_sequential_stream_every_view", transactions=bench.checked, mismatches=mismatches,
                   dram=dram.describe(), host_outstanding=bench.max_outstanding, warmup=warmup,
                   storage_bits=p["pool_rows"] * PLANES * LINE_BYTES * 8, per_view=per_view)
    assert mismatches == 0
