"""cocotb bench: the FGMP VMAC against golden.fgmp_dot.dot, bit for bit.

Rows are generated in NumPy, expected results come from the golden model, and
one driver coroutine plays both the source (random valid gaps) and the sink
(random back-pressure), sampling handshakes in the ReadOnly phase of each
cycle. Results are compared in order (the datapath keeps row order).
"""

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from golden import fgmp_dot
from hdl.fgmp_layout import BLOCK, beat_layout
from verif.bench_support import pack, params, reset, resolved, rng, start, stream_through
from verif.coverage.vmac import VmacCoverage
from verif.scoreboard import Scoreboard

PAIRINGS = {"fp4xfp4": (False, False), "fp4xfp8": (False, True), "fp8xfp4": (True, False), "fp8xfp8": (True, True)}


class Rows:
    """A batch of rows: per operand modes (rows, blocks), codes (rows, blocks, 16), scale codes."""

    def __init__(self, w, a):
        self.w, self.a = w, a

    @property
    def shape(self):
        return self.w[0].shape

    def expected(self, sw, sa):
        """Golden binary32 bits per row; the exact accumulators are kept in ``accumulators``."""
        bits, self.accumulators = fgmp_dot.dot(*self.w, *self.a, sw, sa)
        return [int(b) for b in bits]


def random_operand(gen, rows, blocks, variant, fp8=None, nan_free=True):
    if variant == "fp8":
        modes = np.ones((rows, blocks), bool)
    elif variant == "fp4":
        modes = np.zeros((rows, blocks), bool)
    elif fp8 is None:
        modes = gen.random((rows, blocks)) < 0.5
    else:
        modes = np.full((rows, blocks), fp8)
    codes = gen.integers(0, 256, (rows, blocks, BLOCK))
    if nan_free:
        codes = np.where((codes & 0x7F) == 0x7F, codes ^ 1, codes)
    codes = np.where(modes[..., None], codes, codes & 0xF).astype(np.uint8)
    scales = gen.integers(1, 0x7F, (rows, blocks)).astype(np.uint8)
    return modes, codes, scales


def random_rows(gen, rows, blocks, variant, fp8_w=None, fp8_a=None):
    return Rows(random_operand(gen, rows, blocks, variant, fp8_w), random_operand(gen, rows, blocks, variant, fp8_a))


SPECIAL_KINDS = ("zero block", "NaN element", "NaN scale", "cancellation")


def inject_specials(gen, rows: Rows, variant: str, fraction: float) -> None:
    """Turn about ``fraction`` of ``rows`` into special rows, in place: a zero block, an E4M3 NaN
    element (FP8 side), a NaN block scale (NVFP4 side) or an exactly cancelling row (each block's
    second half the first half's products negated)."""
    kinds = [k for k in SPECIAL_KINDS if not (variant == "fp4" and k == "NaN element")
             and not (variant == "fp8" and k == "NaN scale")]
    n_rows, n_blocks = rows.shape
    for r in np.flatnonzero(gen.random(n_rows) < fraction):
        kind, j = kinds[int(gen.integers(len(kinds)))], int(gen.integers(n_blocks))
        op = (rows.w, rows.a)[int(gen.integers(2))]
        modes, codes, scales = op
        if kind == "zero block":
            codes[r, j] &= np.where(modes[r, j], 0x80, 0x8).astype(np.uint8)      # keep the signs
        elif kind == "NaN element":
            if variant == "mixed":
                modes[r, j] = True
            codes[r, j, int(gen.integers(BLOCK))] = 0x7F | (codes[r, j, 0] & 0x80)
        elif kind == "NaN scale":
            if variant == "mixed":
                modes[r, j] = False
                codes[r, j] &= 0xF
            scales[r, j] = 0x7F
        else:
            half = BLOCK // 2
            for (m, c, _), flip in ((rows.w, False), (rows.a, True)):
                c[r, :, half:] = c[r, :, :half] ^ (np.where(m[r], 0x80, 0x8)[:, None] if flip else 0)


def _block(variant, modes, codes, scales, r, j):
    out = {"codes": [int(c) for c in codes[r, j]]}
    if variant == "mixed":
        out["fp8"] = int(modes[r, j])
    if variant != "fp8":
        out["scale"] = int(scales[r, j])
    return out


def beats(rows: Rows, variant: str, per_beat: int) -> list[int]:
    layout = beat_layout(variant, per_beat)
    n_rows, n_blocks = rows.shape
    out = []
    for r in range(n_rows):
        for start in range(0, n_blocks, per_beat):
            out.append(pack(layout, {
                "w": [_block(variant, *rows.w, r, start + b) for b in range(per_beat)],
                "a": [_block(variant, *rows.a, r, start + b) for b in range(per_beat)],
                "last": int(start + per_beat == n_blocks)}))
    return out


async def run(dut, payloads, n_rows, sw, sa, gen, p_valid=1.0, p_ready=1.0, flows=None):
    """Set the tensor scales while idle, then stream ``payloads``; returns (results, accept cycles)
    (``flows``: see :func:`stream_through`)."""
    dut.w_scale.value = int(np.float32(sw).view(np.uint32))
    dut.a_scale.value = int(np.float32(sa).view(np.uint32))
    for _ in range(3):                               # the scale registers settle while idle
        await RisingEdge(dut.clk)
    return await stream_through(dut, payloads, n_rows, gen, p_valid=p_valid, p_ready=p_ready, flows=flows)


def compare(board: Scoreboard, got, want, what: str) -> int:
    """Each result row (binary32 bits) against the golden row; a missing or extra row mismatches."""
    return board.compare_lanes(np.asarray(got, np.int64), np.asarray(want, np.int64), lambda i: f"{what} row {i}")


IDLE = {"i__valid": 0, "o__ready": 0}


def tensor_scales(gen) -> tuple[np.float32, np.float32]:
    """FP32 tensor scales of a random trial: mostly 2**±60 each; one trial in seven at a product
    near the top of the binary32 range (rows overflow to Inf) or near its bottom (subnormal or
    zero results)."""
    if gen.random() < 1 / 7:
        e = gen.uniform(110, 150) if gen.random() < 0.5 else gen.uniform(-175, -125)
        sw, sa = np.exp2(e / 2), np.exp2(e / 2)
    else:
        sw, sa = np.exp2(gen.uniform(-60, 60)), np.exp2(gen.uniform(-60, 60))
    return np.float32(sw * gen.choice([-1, 1])), np.float32(sa)


@cocotb.test()
async def random_rows_with_gaps_and_backpressure(dut):
    p, gen = params(), rng()
    await start(dut, IDLE)
    per_beat, variant = p["blocks"], p["variant"]
    board = Scoreboard("random_rows_with_gaps_and_backpressure", dut._log)
    coverage = VmacCoverage(variant)
    for trial in range(p["trials"]):
        n_blocks = per_beat * int(gen.integers(1, 9))
        rows = random_rows(gen, p["rows"], n_blocks, variant)
        inject_specials(gen, rows, variant, p.get("special_rows", 0.1))
        sw, sa = tensor_scales(gen)
        flows = []
        got, _ = await run(dut, beats(rows, variant, per_beat), p["rows"], sw, sa, gen, 0.7, 0.6, flows)
        want = rows.expected(sw, sa)
        compare(board, got, want, f"trial {trial}")
        coverage.sample_rows(rows, want, rows.accumulators, flows)
    board.finish()


def special_cases(gen, per_beat, variant):
    """(name, rows, w_scale, a_scale): zeros, extremes, NaN codes, overflow, subnormal results."""
    n = 2 * per_beat
    cases = []
    zero = random_rows(gen, 1, n, variant)
    for op in (zero.w, zero.a):
        op[1][:] = 0
    cases.append(("all-zero row", zero, 1.0, 1.0))
    big = random_rows(gen, 1, n, variant)
    for op in (big.w, big.a):
        op[1][:] = np.where(op[0][..., None], 0x7E, 0x7)          # +448 / +6
        op[2][:] = 0x7E                                              # scale 448
    cases.append(("largest magnitudes", big, 1.0, 1.0))
    cases.append(("overflow to +inf", big, 3.0e38, 3.0e38))
    cases.append(("subnormal result", random_rows(gen, 2, n, variant), 1e-30, 1e-15))
    cases.append(("underflow to zero", random_rows(gen, 2, n, variant), 1e-40, 1e-40))
    tiny = random_rows(gen, 1, n, variant)
    for op in (tiny.w, tiny.a):
        op[1][:] = np.where(op[0][..., None], 0x01, 0x1)            # smallest subnormal / 0.5
        op[2][:] = 0x01                                              # scale 2**-9
    cases.append(("smallest magnitudes", tiny, 1.0, 1.0))
    cancel = random_rows(gen, 1, n, variant)
    cancel.a = tuple(x.copy() for x in cancel.w)
    neg = cancel.a[1].copy()
    half = BLOCK // 2
    cancel.w[1][..., half:] = cancel.w[1][..., :half]
    neg[..., half:] = np.where(cancel.a[0][..., None], neg[..., :half] ^ 0x80, neg[..., :half] ^ 0x8)
    cancel.a = (cancel.a[0], neg, cancel.a[2])
    cases.append(("exact cancellation", cancel, 1.0, 1.0))
    nan_w = random_rows(gen, 2, n, variant)
    if variant != "fp4":
        nan_w.w[0][0, 0] = True                                      # an FP8 block with a NaN code (row 0)
        nan_w.w[1][0, 0, 3] = 0x7F
    if variant != "fp8":
        nan_w.w[0][1, -1] = False                                    # an NVFP4 block with a NaN scale (row 1)
        nan_w.w[1][1, -1] &= 0xF
        nan_w.w[2][1, -1] = 0x7F
    cases.append(("NaN code or scale", nan_w, 1.0, 1.0))
    cases.append(("NaN tensor scale", random_rows(gen, 1, n, variant), float("nan"), 1.0))
    return cases


@cocotb.test()
async def directed_special_rows(dut):
    p, gen = params(), rng()
    await start(dut, IDLE)
    board = Scoreboard("directed_special_rows", dut._log)
    coverage = VmacCoverage(p["variant"])
    for name, rows, sw, sa in special_cases(gen, p["blocks"], p["variant"]):
        flows = []
        got, _ = await run(dut, beats(rows, p["variant"], p["blocks"]), rows.shape[0], sw, sa, gen, 0.8, 0.8, flows)
        want = rows.expected(sw, sa)
        compare(board, got, want, name)
        coverage.sample_rows(rows, want, rows.accumulators, flows)
    board.finish()


@cocotb.test()
async def throughput_per_pairing(dut):
    """Continuous input, output always ready: cycles per block pair, per pairing (a measurement)."""
    p, gen = params(), rng()
    await start(dut, IDLE)
    per_beat, variant = p["blocks"], p["variant"]
    pairings = PAIRINGS if variant == "mixed" else {variant: (variant == "fp8",) * 2}
    figures, board = {}, Scoreboard("throughput_per_pairing", dut._log)
    for name, (fp8_w, fp8_a) in pairings.items():
        rows = random_rows(gen, p["throughput_rows"], 8 * per_beat, variant, fp8_w, fp8_a)
        got, accepts = await run(dut, beats(rows, variant, per_beat), rows.shape[0], 1.0, 1.0, gen)
        compare(board, got, rows.expected(1.0, 1.0), name)
        n_beats = len(accepts)
        figures[name] = (accepts[-1] - accepts[0] + 1) / (n_beats * per_beat)
    dut._log.info(f"cycles per block pair: {figures}")
    board.finish(cycles_per_block=figures)


@cocotb.test()
async def reset_mid_row_starts_clean(dut):
    """Reset while a row is half accumulated: nothing of it survives, later rows are exact."""
    p, gen = params(), rng()
    await start(dut, IDLE)
    per_beat, variant = p["blocks"], p["variant"]
    abandoned = random_rows(gen, 1, 4 * per_beat, variant)
    dut.w_scale.value = int(np.float32(1.0).view(np.uint32))
    dut.a_scale.value = int(np.float32(1.0).view(np.uint32))
    dut.o__ready.value = 1
    for payload in beats(abandoned, variant, per_beat)[:2]:         # half of the row, no `last`
        await RisingEdge(dut.clk)
        dut.i__payload.value = payload
        dut.i__valid.value = 1
    await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    for _ in range(6):                                              # let the beats reach the accumulator
        await RisingEdge(dut.clk)
    await reset(dut)
    rows = random_rows(gen, 4, 2 * per_beat, variant)
    got, _ = await run(dut, beats(rows, variant, per_beat), 4, 1.0, 1.0, gen, 0.8, 0.8)
    board = Scoreboard("reset_mid_row_starts_clean", dut._log)
    compare(board, got, rows.expected(1.0, 1.0), "after reset")
    board.finish()


async def _set_scales(dut, sw=1.0, sa=1.0):
    dut.w_scale.value = int(np.float32(sw).view(np.uint32))
    dut.a_scale.value = int(np.float32(sa).view(np.uint32))
    for _ in range(3):
        await RisingEdge(dut.clk)


@cocotb.test()
async def latency_credits_and_rows_of_one_beat(dut):
    """The documented latency; with ``o`` stalled exactly ``queue_depth`` rows are taken and none
    is lost; rows of one beat stream at one beat per cycle (measurements in the summary)."""
    p, gen = params(), rng()
    await start(dut, IDLE)
    per_beat, variant = p["blocks"], p["variant"]
    await _set_scales(dut)
    # Latency: one row, output ready, empty pipeline.
    one = random_rows(gen, 1, per_beat, variant)
    dut.o__ready.value = 1
    dut.i__payload.value = beats(one, variant, per_beat)[0]
    dut.i__valid.value = 1
    await ReadOnly()
    assert dut.i__ready.value == 1, "an idle VMAC refuses a beat"
    latency = 0
    await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    while True:
        latency += 1
        await ReadOnly()
        if dut.o__valid.value == 1:
            got_one = resolved(dut.o__payload)
            break
        assert latency < 10 * p["latency"], "no result"
        await RisingEdge(dut.clk)
    board = Scoreboard("latency_credits_and_rows_of_one_beat", dut._log)
    compare(board, [got_one], one.expected(1.0, 1.0), "latency row")
    await RisingEdge(dut.clk)
    # Credits: offer one-beat rows with o stalled; count what is taken.
    rows = random_rows(gen, p["queue_depth"] + 10, per_beat, variant)
    payloads = beats(rows, variant, per_beat)
    dut.o__ready.value = 0
    taken = idle = 0
    while idle < 3 * p["latency"] and taken < len(payloads):
        dut.i__valid.value = 1
        dut.i__payload.value = payloads[taken]
        await ReadOnly()
        took = dut.i__ready.value == 1
        await RisingEdge(dut.clk)
        taken, idle = (taken + 1, 0) if took else (taken, idle + 1)
    dut.i__valid.value = 0
    got, _ = await stream_through(dut, payloads[taken:], len(payloads), gen)
    compare(board, got, rows.expected(1.0, 1.0), "rows taken while o stalled, then the rest")
    # Rows of one beat, continuous input, output always ready.
    stream = random_rows(gen, 4 * p["throughput_rows"], per_beat, variant)
    got, accepts = await stream_through(dut, beats(stream, variant, per_beat), stream.shape[0], gen)
    compare(board, got, stream.expected(1.0, 1.0), "one-beat rows")
    cycles_per_block = (accepts[-1] - accepts[0] + 1) / (len(accepts) * per_beat)
    dut._log.info(f"latency {latency} cycles; {taken} rows taken with o stalled; "
                  f"one-beat rows: {cycles_per_block} cycles per block pair")
    board.finish(latency=latency, rows_taken_while_stalled=taken, one_beat_rows_cycles_per_block=cycles_per_block)
