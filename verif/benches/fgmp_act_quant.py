"""cocotb bench: the activation quantization unit against golden.fgmp.quantize_activations.

Realistic activations (per-channel log-normal scales, heavy tails), directed
blocks (ties at every E2M1 threshold and E4M3 midpoint, zeros, subnormal
inputs, NaN, ±Inf, overflow), random valid gaps and back-pressure; the sticky
status register is checked against the OR of the golden block statuses.
"""

import math

import cocotb
import ml_dtypes
import numpy as np
from amaranth.hdl import unsigned
from amaranth.lib import data
from cocotb.triggers import ReadOnly, RisingEdge

from golden import fgmp
from golden.facts import SCALE_EXP_MIN, STATUS_WRITE_REFUSED
from hdl.fgmp_layout import block_layout
from verif.bench_support import pack, params, resolved, rng, split_struct, start, stream_through
from verif.coverage.act_quant import ActQuantCoverage
from verif.scoreboard import Scoreboard

SENSITIVITY_ROW = data.ArrayLayout(unsigned(8), 16)
DTYPES = {"bf16": (ml_dtypes.bfloat16, np.uint16), "fp16": (np.float16, np.uint16), "fp32": (np.float32, np.uint32)}


def to_format(x, fmt):
    """Values representable in the input format, and their bit patterns."""
    dtype, bits = DTYPES[fmt]
    with np.errstate(over="ignore"):
        cast = np.asarray(x, np.float64).astype(dtype)
    return cast.astype(np.float64), cast.view(bits)


def realistic(gen, rows, channels):
    scale = np.exp(1.2 * gen.standard_normal(channels))
    x = gen.standard_t(4, (rows, channels)) * scale
    return x


def directed(channels):
    """Rows of special blocks; tensor scale 1 makes y = x, so ties are exact."""
    mids = [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0]
    e4m3_mids = [1.0625, 17.0, 5.5 * 2.0 ** -9, 304.0, 2.0 ** -10]     # E4M3 midpoints: RNE ties
    blocks = [
        [6.0] + mids + [-m for m in mids] + [0.0],                    # s_b = 1: every E2M1 tie, both signs
        [6.0 * 1.125] + [m * 1.125 for m in mids] + e4m3_mids[:4] + [-0.0, 3.0, 0.5, 0.0],
        e4m3_mids + [448.0, -448.0, 464.0, 0.0, 1e-3, -1e-3, 5e-3, 2.0 ** -10, -(2.0 ** -11), 7.0, 8.0],
        [0.0] * 16,                                                   # all-zero block
        [2.0 ** -20, -(2.0 ** -21), 2.0 ** -24, 2.0 ** -14] + [0.0] * 12,   # tiny and FP16 subnormals
        [1e6, -2e5] + [1.0] * 14,                                     # overflow (status 4)
        [np.inf, 1.0, -2.0] + [0.5] * 13,                             # Inf (status 2)
        [np.nan, 3.0, -np.inf] + [0.25] * 13,                         # NaN (status 1) forces FP8
        [0.75, -1.5, 0.25, -np.nan] + [0.5] * 12,                     # a NaN, the largest raw magnitude
    ]
    blocks = [b[:16] + [0.0] * (16 - len(b[:16])) for b in blocks]
    flat = [v for b in blocks for v in b]
    flat += [0.0] * (-len(flat) % channels)
    return np.array(flat, dtype=np.float64).reshape(-1, channels)


IDLE = {"i__valid": 0, "o__ready": 0, "sens_we": 0, "cfg_we": 0, "status_clear": 0}


async def write_sensitivities(dut, codes, bank):
    for b in range(len(codes) // 16):
        await RisingEdge(dut.clk)
        dut.sens_bank.value = bank
        dut.sens_addr.value = b
        dut.sens_data.value = pack(SENSITIVITY_ROW, [int(c) for c in codes[16 * b:16 * b + 16]])
        dut.sens_we.value = 1
    await RisingEdge(dut.clk)
    dut.sens_we.value = 0


async def write_config(dut, scale_exp, threshold, bank):
    """One ``cfg_we`` cycle: scale exponent, threshold and active bank together."""
    dut.cfg_scale_exp.value = scale_exp
    dut.cfg_threshold.value = fgmp.threshold_register(int(threshold))
    dut.cfg_bank.value = bank
    dut.cfg_we.value = 1
    await RisingEdge(dut.clk)
    dut.cfg_we.value = 0


async def configure(dut, codes, s_t, threshold):
    """With the unit idle: bank 0's rows, then the registers (bank 0 active), then clear the status."""
    await write_sensitivities(dut, codes, 0)
    await write_config(dut, fgmp.scale_exponent(s_t), threshold, 0)
    dut.status_clear.value = 1
    await RisingEdge(dut.clk)
    dut.status_clear.value = 0
    await RisingEdge(dut.clk)


def input_payloads(bits, channels):
    payloads = []
    width = bits.dtype.itemsize * 8
    for row in bits:
        for b in range(channels // 16):
            value = 0
            for c, v in enumerate(row[16 * b:16 * b + 16]):
                value |= int(v) << (width * c)
            payloads.append(value | (b << (16 * width)))
    return payloads


def hardware_block(blk: dict) -> tuple:
    """An output block as (FP8 flag, the 16 codes, the scale code)."""
    return int(blk["fp8"]), [(blk["codes"] >> (8 * c)) & 0xFF for c in range(16)], int(blk["scale"])


def golden_block(golden, r: int, b: int) -> tuple:
    """Block ``b`` of row ``r`` of a golden ``quantize_activations`` result, as :func:`hardware_block`."""
    return (int(golden.modes[r, b]), [int(c) for c in golden.codes[r, 16 * b:16 * b + 16]],
            int(golden.scale_codes[r, b]))


def compare(board: Scoreboard, out, golden, channels, first: int = 0) -> None:
    """Output blocks against the golden blocks ``first``, ``first + 1``, ... in row order; a
    missing block is a mismatch."""
    per_row = channels // 16
    expected = golden.modes.size - first
    board.check(len(out) == expected, f"{len(out)} blocks came out, {expected} expected")
    for j, blk in enumerate(out, start=first):
        r, b = divmod(j, per_row)
        board.compare(hardware_block(blk), golden_block(golden, r, b), f"row {r} block {b} (fp8, codes, scale)")


async def check_batch(board: Scoreboard, dut, x, channel_fisher, s_t, threshold, fmt, gen, p_valid, p_ready):
    """Configure, stream ``x`` through with gaps and back-pressure, compare every block and the
    status register; returns (blocks out, acceptance cycles, golden result)."""
    values, bits = to_format(x, fmt)
    golden = fgmp.quantize_activations(values, channel_fisher, threshold, tensor_scale=s_t, input_format=fmt)
    codes, _ = fgmp.sensitivity_codes(channel_fisher)
    await configure(dut, codes, s_t, threshold)
    payloads = input_payloads(bits, x.shape[1])
    out, accepts = await stream_through(dut, payloads, len(payloads), gen, p_valid=p_valid, p_ready=p_ready,
                                        read=lambda h: split_struct(resolved(h), block_layout("mixed")))
    compare(board, out, golden, x.shape[1])
    ActQuantCoverage(fmt).sample_blocks(values, s_t, golden.modes, golden.status)
    await RisingEdge(dut.clk)
    status = resolved(dut.status)
    want_status = int(np.bitwise_or.reduce(golden.status.ravel()))
    board.check(status == want_status, f"status register {status:#x}, golden {want_status:#x}")
    return len(out), accepts, golden


@cocotb.test()
async def realistic_activations_with_gaps_and_backpressure(dut):
    p, gen = params(), rng()
    await start(dut, IDLE)
    channels = p["channels"]
    board, fp8_blocks = Scoreboard("realistic_activations_with_gaps_and_backpressure", dut._log), 0
    for trial in range(p["trials"]):
        x = realistic(gen, p["rows"], channels)
        cf = gen.random(channels) ** 4
        calib, _ = to_format(realistic(gen, 32, channels), p["input_format"])
        s_t = fgmp.activation_tensor_scale(np.abs(calib).max())
        t = fgmp.calibrate_activation_threshold(calib, cf, gen.choice([0.1, 0.3, 0.6]), tensor_scale=s_t,
                                                input_format=p["input_format"])
        _, _, golden = await check_batch(board, dut, x, cf, s_t, t, p["input_format"], gen, 0.7, 0.6)
        fp8_blocks += int(golden.modes.sum())
    board.finish(fp8_blocks=fp8_blocks)


@cocotb.test()
async def directed_ties_zeros_and_specials(dut):
    p, gen = params(), rng()
    await start(dut, IDLE)
    channels = p["channels"]
    x = directed(channels)
    cf = np.linspace(0.0, 1.0, channels)
    board = Scoreboard("directed_ties_zeros_and_specials", dut._log)
    # Fixed thresholds, then each block's own score and one below it: the decision flips exactly
    # there (scores reach 2**54, so the compared high and low 32-bit halves each decide somewhere).
    scores = fgmp.activation_scores(to_format(x, p["input_format"])[0], cf, tensor_scale=1.0,
                                    input_format=p["input_format"])
    own = sorted({int(v) + d for v in scores.ravel() if v > 0 for d in (-1, 0)})
    for threshold in [-1, 0, 2 ** 40, 2 ** 62] + own:
        await check_batch(board, dut, x, cf, 1.0, threshold, p["input_format"], gen, 0.8, 0.8)
    # The smallest tensor scale: BF16 / FP32 subnormal inputs next to values that reach E4M3's range.
    tiny = np.array([1e-39, -1e-39, 2.0 ** -127, -(2.0 ** -130), 2.0 ** -108, 3 * 2.0 ** -109, 448 * 2.0 ** -100,
                     2.0 ** -101, -(2.0 ** -106), 2.0 ** -110, 0.0, -0.0, 5e-40, 2.0 ** -126, 2.0 ** -103, 1e-38])
    x_tiny = np.zeros((1, channels))
    x_tiny[0, :16] = tiny
    for threshold in (0, 2 ** 62):                  # as FP8 blocks, then (no score above 2**62) as FP4
        await check_batch(board, dut, x_tiny, cf, 2.0 ** fgmp.SCALE_EXP_MIN, threshold, p["input_format"], gen, 1.0, 1.0)
    board.finish()


@cocotb.test()
async def throughput(dut):
    """Continuous input, output always ready: cycles per block (a measurement)."""
    p, gen = params(), rng()
    await start(dut, IDLE)
    channels = p["channels"]
    x = realistic(gen, p["rows"], channels)
    cf = gen.random(channels)
    s_t = fgmp.activation_tensor_scale(np.abs(to_format(x, p["input_format"])[0]).max())
    board = Scoreboard("throughput", dut._log)
    _, accepts, _ = await check_batch(board, dut, x, cf, s_t, 10 ** 9, p["input_format"], gen, 1.0, 1.0)
    cycles_per_block = (accepts[-1] - accepts[0] + 1) / len(accepts)
    dut._log.info(f"cycles per block: {cycles_per_block}")
    board.finish(cycles_per_block=cycles_per_block)


@cocotb.test()
async def latency_and_credits(dut):
    """Cycles from acceptance to ``o.valid`` (output ready), and blocks taken while ``o`` is held.

    With ``o.ready`` low, ``i.ready`` must fall after exactly ``queue_depth`` accepted blocks;
    released, all of them come out, in order and exact.
    """
    p, gen = params(), rng()
    await start(dut, IDLE)
    channels = 64
    x = realistic(gen, 24, channels)                  # more blocks than the queue holds
    values, bits = to_format(x, p["input_format"])
    cf = gen.random(channels)
    s_t = fgmp.activation_tensor_scale(np.abs(values).max())
    await configure(dut, fgmp.sensitivity_codes(cf)[0], s_t, 10 ** 12)
    payloads = input_payloads(bits, channels)
    dut.o__ready.value = 1
    dut.i__valid.value = 1
    dut.i__payload.value = payloads[0]
    await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    latency = 1
    while True:
        await ReadOnly()
        if dut.o__valid.value == 1:
            break
        await RisingEdge(dut.clk)
        latency += 1
        assert latency < 200, "no output"
    await RisingEdge(dut.clk)
    dut.o__ready.value = 0
    taken, cycles = [], 0
    while cycles < 4 * len(payloads):
        dut.i__valid.value = int(len(taken) < len(payloads) - 1)
        if len(taken) < len(payloads) - 1:
            dut.i__payload.value = payloads[1 + len(taken)]
        await ReadOnly()
        accepted = dut.i__valid.value == 1 and dut.i__ready.value == 1
        await RisingEdge(dut.clk)
        if accepted:
            taken.append(1 + len(taken))
        cycles += 1
    dut.i__valid.value = 0
    held = len(taken)
    out = []
    dut.o__ready.value = 1
    for _ in range(held + 8):
        await ReadOnly()
        if dut.o__valid.value == 1:
            out.append(split_struct(resolved(dut.o__payload), block_layout("mixed")))
        await RisingEdge(dut.clk)
    dut.o__ready.value = 0
    golden = fgmp.quantize_activations(values, cf, 10 ** 12, tensor_scale=s_t, input_format=p["input_format"])
    board = Scoreboard("latency_and_credits", dut._log)
    board.check(len(out) == held, f"{held} blocks taken while o was held, {len(out)} came out")
    per_row = channels // 16
    for k, blk in enumerate(out, start=1):                     # block 0 went through first, alone
        board.compare(hardware_block(blk), golden_block(golden, *divmod(k, per_row)), f"held block {k}")
    dut._log.info(f"latency {latency} cycles; {held} blocks taken while o was held; {len(out)} came out")
    board.finish(latency=latency, held=held)


@cocotb.test()
async def config_writes_racing_a_stream(dut):
    """Configuration and sensitivity writes in the middle of a stream: each block sees exactly one configuration.

    While blocks stream (random gaps and back-pressure), the bench writes the inactive bank's
    rows, switches configurations with ``cfg_we`` (scale exponent, threshold, bank) at random
    cycles, and tries to write the active bank, which must be refused (status bit 8) and write
    nothing. Each block's expected output is the golden model's under the configuration of its
    acceptance cycle: the registers before that cycle's write, the bank's rows before that
    cycle's write. Then, with the unit idle, an active-bank write must proceed.
    """
    p, gen = params(), rng()
    await start(dut, IDLE)
    fmt, channels = p["input_format"], 64
    rows_per_bank = channels // 16
    banks = [np.zeros((rows_per_bank, 16), np.int64), np.zeros((rows_per_bank, 16), np.int64)]
    x = realistic(gen, 24, channels)
    values, bits = to_format(x, fmt)
    payloads = input_payloads(bits, channels)
    # Bank 0 holds small sensitivity codes, bank 1 large ones, and most thresholds lie between the
    # median block scores under the two, so a block read from the wrong bank mostly changes mode.
    code_range = [(0, 64), (192, 256)]
    for bank in (0, 1):
        banks[bank][:] = gen.integers(*code_range[bank], (rows_per_bank, 16))
        await write_sensitivities(dut, banks[bank].ravel(), bank)
    configs = []
    for j in range(4):
        s_t = fgmp.activation_tensor_scale(np.abs(values).max()) * 2.0 ** int(gen.integers(-2, 3))
        if j < 3:
            medians = [max(1, int(np.median(fgmp.quantize_activations_by_codes(
                values, banks[bank].ravel(), -1, tensor_scale=s_t, input_format=fmt).scores))) for bank in (0, 1)]
            threshold = math.isqrt(medians[0] * medians[1])
        else:
            threshold = int(gen.choice([-1, 0, 2 ** 62]))
        configs.append((s_t, threshold))
    await write_config(dut, fgmp.scale_exponent(configs[0][0]), configs[0][1], 0)
    state = {"cfg": configs[0], "bank": 0}
    dut.status_clear.value = 1
    await RisingEdge(dut.clk)
    dut.status_clear.value = 0

    expected, out, refused_tries, switches, inactive_writes = [], [], 0, 0, 0
    sent, cycle = 0, 0
    while len(out) < len(payloads):
        await RisingEdge(dut.clk)
        cycle += 1
        assert cycle < 50 * len(payloads), "timeout"
        valid = sent < len(payloads) and gen.random() < 0.8
        dut.i__valid.value = int(valid)
        if valid:
            dut.i__payload.value = payloads[sent]
        ready = gen.random() < 0.7
        dut.o__ready.value = int(ready)
        # This cycle's writes take effect at the coming edge: after this cycle's acceptance.
        write = None
        roll = gen.random()
        if roll < 0.15:
            bank = 1 - state["bank"]
            row, codes = int(gen.integers(rows_per_bank)), gen.integers(*code_range[bank], 16)
            write = ("sens", bank, row, codes)
        elif roll < 0.2 and valid:
            write = ("refused", state["bank"], int(gen.integers(rows_per_bank)), gen.integers(0, 256, 16))
        elif roll < 0.25:
            write = ("cfg", configs[int(gen.integers(len(configs)))], 1 - state["bank"])
        dut.sens_we.value = int(write is not None and write[0] != "cfg")
        dut.cfg_we.value = int(write is not None and write[0] == "cfg")
        if write is not None and write[0] != "cfg":
            dut.sens_bank.value, dut.sens_addr.value = write[1], write[2]
            dut.sens_data.value = pack(SENSITIVITY_ROW, [int(c) for c in write[3]])
        elif write is not None:
            dut.cfg_scale_exp.value = fgmp.scale_exponent(write[1][0])
            dut.cfg_threshold.value = fgmp.threshold_register(write[1][1])
            dut.cfg_bank.value = write[2]
        await ReadOnly()
        if valid and dut.i__ready.value == 1:
            block = sent % rows_per_bank
            expected.append((sent, state["cfg"], banks[state["bank"]][block].copy()))
            sent += 1
        if ready and dut.o__valid.value == 1:
            out.append(split_struct(resolved(dut.o__payload), block_layout("mixed")))
        if write is not None and write[0] == "sens":
            banks[write[1]][write[2]] = write[3]
            inactive_writes += 1
        elif write is not None and write[0] == "refused":
            refused_tries += 1
        elif write is not None:
            state["cfg"], state["bank"] = write[1], write[2]
            switches += 1
    await RisingEdge(dut.clk)
    dut.i__valid.value = dut.sens_we.value = dut.cfg_we.value = 0
    board, fp8_blocks = Scoreboard("config_writes_racing_a_stream", dut._log), 0
    board.check(len(out) == len(expected), f"{len(out)} blocks came out, {len(expected)} accepted")
    for (j, (s_t, threshold), row), blk in zip(expected, out):
        r, b = divmod(j, rows_per_bank)
        golden = fgmp.quantize_activations_by_codes(values[r:r + 1, 16 * b:16 * b + 16], row, threshold,
                                                    tensor_scale=s_t, input_format=fmt)
        want = golden_block(golden, 0, 0)
        fp8_blocks += want[0]
        board.compare(hardware_block(blk), want, f"block {j}")
    status = resolved(dut.status)
    board.check(bool(status & STATUS_WRITE_REFUSED) == (refused_tries > 0),
                f"status {status:#x} after {refused_tries} writes to the active bank while streaming")
    # Idle: a write to the active bank proceeds and the next block uses it.
    for _ in range(5):
        await RisingEdge(dut.clk)
    dut.status_clear.value = 1
    await RisingEdge(dut.clk)
    dut.status_clear.value = 0
    new_row = gen.integers(0, 256, 16)
    await write_sensitivities(dut, np.concatenate([new_row, banks[state["bank"]][1:].ravel()]), state["bank"])
    banks[state["bank"]][0] = new_row
    tail, _ = await stream_through(dut, payloads[:1], 1, gen,
                                   read=lambda h: split_struct(resolved(h), block_layout("mixed")))
    golden = fgmp.quantize_activations_by_codes(values[0:1, :16], new_row, state["cfg"][1],
                                                tensor_scale=state["cfg"][0], input_format=fmt)
    board.compare(hardware_block(tail[0]), golden_block(golden, 0, 0),
                  "the block after an idle write to the active bank (the write took effect)")
    await RisingEdge(dut.clk)
    board.check(not resolved(dut.status) & STATUS_WRITE_REFUSED, "an idle write to the active bank was refused")
    dut._log.info(f"{len(out)} blocks, {switches} configuration switches, {inactive_writes} inactive-bank "
                  f"writes, {refused_tries} refused active-bank writes, {fp8_blocks} FP8 blocks")
    board.finish(switches=switches, inactive_writes=inactive_writes, refused_writes=refused_tries,
                 fp8_blocks=fp8_blocks)


@cocotb.test()
async def scale_exponent_below_range_is_refused(dut):
    """A configuration write with ``cfg_scale_exp < SCALE_EXP_MIN`` changes nothing and sets status bit 8."""
    p, gen = params(), rng()
    await start(dut, IDLE)
    channels = 32
    x = realistic(gen, 4, channels)
    values, _ = to_format(x, p["input_format"])
    cf = gen.random(channels)
    s_t = fgmp.activation_tensor_scale(np.abs(values).max())
    board = Scoreboard("scale_exponent_below_range_is_refused", dut._log)
    await check_batch(board, dut, x, cf, s_t, 10 ** 12, p["input_format"], gen, 1.0, 1.0)
    await write_config(dut, SCALE_EXP_MIN - 1, -1, 1)     # -1 would make every block FP8
    await RisingEdge(dut.clk)
    board.check(resolved(dut.status) & STATUS_WRITE_REFUSED, "a scale exponent below the range was not flagged")
    _, bits = to_format(x, p["input_format"])
    golden = fgmp.quantize_activations(values, cf, 10 ** 12, tensor_scale=s_t, input_format=p["input_format"])
    out, _ = await stream_through(dut, input_payloads(bits, channels), x.shape[0] * channels // 16, gen,
                                  read=lambda h: split_struct(resolved(h), block_layout("mixed")))
    compare(board, out, golden, channels)                       # still the old configuration
    board.finish()


@cocotb.test()
async def reset_mid_stream_starts_clean(dut):
    """Reset with blocks in the pipeline: none of them comes out; the next batch is exact.

    A sensitivity write (to the inactive bank) made in the reset cycle itself lands: after the
    batch, a switch to that bank quantizes a block with the row written then.
    """
    p, gen = params(), rng()
    await start(dut, IDLE)
    channels = 64
    x = gen.normal(0, 1, (4, channels))
    fisher = gen.random(channels)
    _, bits = to_format(x, p["input_format"])
    await write_sensitivities(dut, np.zeros(16, np.int64), 1)       # bank 1, row 0: score 0 until rewritten
    await configure(dut, fgmp.sensitivity_codes(fisher)[0], 1.0, 0)
    dut.o__ready.value = 0
    for payload in input_payloads(bits, channels)[:6]:                 # fill the pipeline, output held
        dut.i__valid.value = 1
        dut.i__payload.value = payload
        await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    dut.rst.value = 1
    reset_row = gen.integers(1, 256, 16)
    dut.sens_bank.value, dut.sens_addr.value, dut.sens_we.value = 1, 0, 1
    dut.sens_data.value = pack(SENSITIVITY_ROW, [int(c) for c in reset_row])
    await RisingEdge(dut.clk)
    dut.rst.value = dut.sens_we.value = 0
    await RisingEdge(dut.clk)
    dut.o__ready.value = 1
    stale = 0
    for _ in range(12):
        await RisingEdge(dut.clk)
        stale += int(dut.o__valid.value == 1)
    board = Scoreboard("reset_mid_stream_starts_clean", dut._log)
    board.check(stale == 0, f"{stale} blocks from before the reset came out")
    await check_batch(board, dut, x, fisher, 1.0, 0, p["input_format"], gen, 0.8, 0.8)
    values, _ = to_format(x, p["input_format"])
    row0 = fgmp.quantize_activations_by_codes(values[0:1, :16], reset_row, -1, tensor_scale=1.0,
                                              input_format=p["input_format"]).scores[0, 0]
    threshold = max(0, int(row0) - 1)          # the row written in the reset cycle makes block 0 FP8
    await write_config(dut, 0, threshold, 1)
    tail, _ = await stream_through(dut, input_payloads(bits, channels)[:1], 1, gen,
                                   read=lambda h: split_struct(resolved(h), block_layout("mixed")))
    golden = fgmp.quantize_activations_by_codes(values[0:1, :16], reset_row, threshold, tensor_scale=1.0,
                                                input_format=p["input_format"])
    board.compare(hardware_block(tail[0]), golden_block(golden, 0, 0),
                  "block 0 with the sensitivity row written in the reset cycle")
    board.finish()
