"""cocotb bench: the activation quantization unit against golden.fgmp.quantize_activations.

Realistic activations (per-channel log-normal scales, heavy tails), directed
blocks (ties at every E2M1 threshold and E4M3 midpoint, zeros, subnormal
inputs, NaN, ±Inf, overflow), random valid gaps and back-pressure; the sticky
status register is checked against the OR of the golden block statuses.
"""

import cocotb
import ml_dtypes
import numpy as np
from amaranth.hdl import unsigned
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from golden import fgmp
from hdl.fgmp_layout import block_layout
from verif.bench_support import (pack, params, record_summary, resolved, rng, split_struct,
                                 stream_through)

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
    ]
    blocks = [b[:16] + [0.0] * (16 - len(b[:16])) for b in blocks]
    flat = [v for b in blocks for v in b]
    flat += [0.0] * (-len(flat) % channels)
    return np.array(flat, dtype=np.float64).reshape(-1, channels)


async def start(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    dut.sens_we.value = 0
    dut.status_clear.value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    dut.rst.value = 0


async def configure(dut, codes, s_t, threshold):
    dut.inv_scale.value = int(np.float32(1.0 / np.float64(np.float32(s_t))).view(np.uint32))
    dut.threshold.value = int(threshold)
    for b in range(len(codes) // 16):
        await RisingEdge(dut.clk)
        dut.sens_addr.value = b
        dut.sens_data.value = pack(SENSITIVITY_ROW, [int(c) for c in codes[16 * b:16 * b + 16]])
        dut.sens_we.value = 1
    await RisingEdge(dut.clk)
    dut.sens_we.value = 0
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


def compare(dut, out, golden, channels):
    mismatches = 0
    per_row = channels // 16
    for j, blk in enumerate(out):
        r, b = divmod(j, per_row)
        codes = [(blk["codes"] >> (8 * c)) & 0xFF for c in range(16)]
        want = (int(golden.modes[r, b]), [int(c) for c in golden.codes[r, 16 * b:16 * b + 16]],
                int(golden.scale_codes[r, b]))
        if (blk["fp8"], codes, blk["scale"]) != want:
            mismatches += 1
            if mismatches <= 5:
                dut._log.error(f"row {r} block {b}: hardware fp8={blk['fp8']} scale={blk['scale']:#x} "
                               f"codes={codes}; golden fp8={want[0]} scale={want[2]:#x} codes={want[1]}")
    return mismatches


async def check_batch(dut, x, channel_fisher, s_t, threshold, fmt, gen, p_valid, p_ready):
    values, bits = to_format(x, fmt)
    golden = fgmp.quantize_activations(values, channel_fisher, threshold, tensor_scale=s_t, input_format=fmt)
    codes, _ = fgmp.sensitivity_codes(channel_fisher)
    await configure(dut, codes, s_t, threshold)
    payloads = input_payloads(bits, x.shape[1])
    out, accepts = await stream_through(dut, payloads, len(payloads), gen, p_valid=p_valid, p_ready=p_ready,
                                        read=lambda h: split_struct(resolved(h), block_layout("mixed")))
    mismatches = compare(dut, out, golden, x.shape[1])
    await RisingEdge(dut.clk)
    status = resolved(dut.status)
    want_status = int(np.bitwise_or.reduce(golden.status.ravel()))
    if status != want_status:
        dut._log.error(f"status register {status:#x}, golden {want_status:#x}")
        mismatches += 1
    return len(out), mismatches, accepts, golden


@cocotb.test()
async def realistic_activations_with_gaps_and_backpressure(dut):
    p, gen = params(), rng()
    await start(dut)
    channels = p["channels"]
    blocks = mismatches = fp8_blocks = 0
    for trial in range(p["trials"]):
        x = realistic(gen, p["rows"], channels)
        cf = gen.random(channels) ** 4
        calib, _ = to_format(realistic(gen, 32, channels), p["input_format"])
        s_t = fgmp.tensor_scale_for(calib)
        t = fgmp.calibrate_activation_threshold(calib, cf, gen.choice([0.1, 0.3, 0.6]), tensor_scale=s_t,
                                                input_format=p["input_format"])
        n, bad, _, golden = await check_batch(dut, x, cf, s_t, t, p["input_format"], gen, 0.7, 0.6)
        blocks += n
        mismatches += bad
        fp8_blocks += int(golden.modes.sum())
    record_summary("realistic_activations_with_gaps_and_backpressure", vectors=blocks, mismatches=mismatches,
                   fp8_blocks=fp8_blocks)
    assert mismatches == 0


@cocotb.test()
async def directed_ties_zeros_and_specials(dut):
    p, gen = params(), rng()
    await start(dut)
    channels = p["channels"]
    x = directed(channels)
    cf = np.linspace(0.0, 1.0, channels)
    blocks = mismatches = 0
    for threshold in (-1, 0, 2 ** 40, 2 ** 62):
        n, bad, _, _ = await check_batch(dut, x, cf, 1.0, threshold, p["input_format"], gen, 0.8, 0.8)
        blocks += n
        mismatches += bad
    record_summary("directed_ties_zeros_and_specials", vectors=blocks, mismatches=mismatches)
    assert mismatches == 0


@cocotb.test()
async def throughput(dut):
    """Continuous input, output always ready: cycles per block (a measurement)."""
    p, gen = params(), rng()
    await start(dut)
    channels = p["channels"]
    x = realistic(gen, p["rows"], channels)
    cf = gen.random(channels)
    s_t = fgmp.tensor_scale_for(to_format(x, p["input_format"])[0])
    n, bad, accepts, _ = await check_batch(dut, x, cf, s_t, 10 ** 9, p["input_format"], gen, 1.0, 1.0)
    cycles_per_block = (accepts[-1] - accepts[0] + 1) / len(accepts)
    dut._log.info(f"cycles per block: {cycles_per_block}")
    record_summary("throughput", vectors=n, mismatches=bad, cycles_per_block=cycles_per_block)
    assert bad == 0


BAD_INV_SCALES = {"+0": 0x0000_0000, "-0": 0x8000_0000, "-1.0": 0xBF80_0000, "+inf": 0x7F80_0000,
                  "NaN": 0x7FC0_0000, "-subnormal": 0x8000_0001}


@cocotb.test()
async def bad_inv_scale_sets_status_8(dut):
    """Every invalid inv_scale pattern is flagged (status bit 8); a valid one is not."""
    p, gen = params(), rng()
    await start(dut)
    channels = 32
    x = gen.normal(0, 1, (2, channels))
    fisher = gen.random(channels)
    await check_batch(dut, x, fisher, 1.0, 0, p["input_format"], gen, 1.0, 1.0)      # configures the unit
    mismatches, checked = 0, 0
    _, bits = to_format(x, p["input_format"])
    payloads = input_payloads(bits, channels)
    for name, pattern in [*BAD_INV_SCALES.items(), ("1.0 (valid)", 0x3F80_0000), ("smallest subnormal (valid)", 1)]:
        dut.inv_scale.value = pattern
        dut.status_clear.value = 1
        await RisingEdge(dut.clk)
        dut.status_clear.value = 0
        await stream_through(dut, payloads, len(payloads), gen)
        await RisingEdge(dut.clk)
        flagged = bool(resolved(dut.status) & 8)
        checked += 1
        if flagged != (pattern in BAD_INV_SCALES.values()):
            mismatches += 1
            dut._log.error(f"inv_scale {name} ({pattern:#010x}): status bit 8 is {int(flagged)}")
    record_summary("bad_inv_scale_sets_status_8", vectors=checked, mismatches=mismatches)
    assert mismatches == 0


@cocotb.test()
async def reset_mid_stream_starts_clean(dut):
    """Reset with blocks in the pipeline: none of them comes out; the next batch is exact."""
    p, gen = params(), rng()
    await start(dut)
    channels = 64
    x = gen.normal(0, 1, (4, channels))
    fisher = gen.random(channels)
    _, bits = to_format(x, p["input_format"])
    await configure(dut, fgmp.sensitivity_codes(fisher)[0], 1.0, 0)
    dut.o__ready.value = 0
    for payload in input_payloads(bits, channels)[:6]:                 # fill the pipeline, output held
        dut.i__valid.value = 1
        dut.i__payload.value = payload
        await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    dut.o__ready.value = 1
    stale = 0
    for _ in range(12):
        await RisingEdge(dut.clk)
        stale += int(dut.o__valid.value == 1)
    blocks, mismatches, _, _ = await check_batch(dut, x, fisher, 1.0, 0, p["input_format"], gen, 0.8, 0.8)
    mismatches += stale
    if stale:
        dut._log.error(f"{stale} blocks from before the reset came out")
    record_summary("reset_mid_stream_starts_clean", vectors=blocks, mismatches=mismatches)
    assert mismatches == 0
