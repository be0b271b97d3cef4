"""cocotb bench: format decoder and encoders against golden.formats, bit for bit.

Decoder: every code. Encoders: every representable value, every rounding
midpoint and its binary32 neighbours, the specials, then random binary32
values (``random_vectors`` of them: half uniform over all bit patterns, half
spread over the format's range).
"""

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from golden import formats
from hdl.float_unpacked import UnpackedFloat, unpacked_value
from hdl.format_encoder import FormatEncoder
from hdl.small_float import small_float
from verif.scoreboard import Scoreboard, same_float
from verif.bench_support import (pack_lanes, params, resolved, rng, split_lanes, start,
                                 split_struct)

SETTLE_NS = 1


def directed_fp32(fmt: str) -> np.ndarray:
    """Every value, midpoint and midpoint neighbour of ``fmt``, both signs, plus specials."""
    values = np.abs(formats.decode(np.arange(1 << small_float(fmt).width), fmt))
    values = np.unique(values[np.isfinite(values)]).astype(np.float32)
    top = values[-1]
    beyond = np.float32(top + 2.0 ** (np.floor(np.log2(top)) - small_float(fmt).mbits))
    grid = np.append(values, beyond)
    mids = ((grid[:-1] + grid[1:]) / 2).astype(np.float32)
    probes = np.concatenate([values, mids, np.nextafter(mids, np.float32(0)),
                             np.nextafter(mids, np.float32(np.inf)), [beyond, top * 2]])
    specials = np.array([0x00000000, 0x00000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF,
                         0x7F800000, 0x7FC00000, 0x7F800001, 0x7FFFFFFF], dtype=np.uint32).view(np.float32)
    probes = np.concatenate([probes, specials]).astype(np.float32)
    return np.concatenate([probes, -probes])


def random_fp32(fmt: str, n: int, gen: np.random.Generator) -> np.ndarray:
    raw = gen.integers(0, 2 ** 32, n // 2, dtype=np.uint64).astype(np.uint32).view(np.float32)
    spec = small_float(fmt)
    lo, hi = 1 - spec.bias - spec.mbits - 3, int(np.log2(formats.max_value(fmt))) + 3
    near = gen.standard_normal(n - n // 2) * np.exp2(gen.integers(lo, hi, n - n // 2))
    return np.concatenate([raw, near.astype(np.float32)])


def expected_codes(x: np.ndarray, fmt: str, saturate: bool) -> tuple[np.ndarray, np.ndarray]:
    """Golden codes, and the invalid flag (NaN into a format without NaN -> signed zero)."""
    x64 = x.astype(np.float64)
    nan = np.isnan(x64)
    info = formats.format_info(fmt)
    if info.nan_code is None:
        codes = formats.encode(np.where(nan, 0.0, x64), fmt, saturate=saturate)
        sign = (x.view(np.uint32) >> 31).astype(np.uint8) << (info.width - 1)
        return np.where(nan, sign, codes), nan
    return formats.encode(x64, fmt, saturate=saturate), np.zeros(x.shape, bool)


@cocotb.test()
async def decoder_every_code(dut):
    p = params()
    fmt, lanes = p["fmt"], p["lanes"]
    width = small_float(fmt).width
    codes = np.arange(1 << width)
    codes = np.concatenate([codes, np.zeros(-len(codes) % lanes, np.int64)])
    lane_width = UnpackedFloat.as_shape().size
    board = Scoreboard("decoder_every_code", dut._log, same=same_float, keep=20)
    for first in range(0, len(codes), lanes):
        chunk = codes[first:first + lanes]
        dut.codes.value = pack_lanes(chunk, width)
        await Timer(SETTLE_NS, unit="ns")
        lane_values = split_lanes(resolved(dut.values), lane_width, lanes)
        for i, (code, raw) in enumerate(zip(chunk, lane_values)):
            if first + i >= 1 << width:
                break                                    # the padding of the last vector
            got = unpacked_value(split_struct(int(raw), UnpackedFloat.as_shape()))
            board.compare(got, formats.decode([code], fmt)[0], f"{fmt} code {int(code):#x}")
    board.finish()


async def _run_encoders(board: Scoreboard, dut, x: np.ndarray, fmt: str, lanes: int) -> None:
    """One vector of ``lanes`` values per cycle; each vector's codes are read ``FormatEncoder.latency``
    cycles later (a wrong latency misaligns every comparison)."""
    pad = -len(x) % lanes
    x = np.concatenate([x, np.zeros(pad, np.float32)])
    width = small_float(fmt).width
    checks = [("sat_codes", True)] + ([("ovf_codes", False)] if hasattr(dut, "ovf_codes") and fmt != "e2m1" else [])
    expected = {name: expected_codes(x, fmt, sat) for name, sat in checks}
    bits = x.view(np.uint32)
    await start(dut)
    starts = list(range(0, len(x), lanes))
    latency = FormatEncoder.latency
    for k in range(len(starts) + latency):
        await RisingEdge(dut.clk)
        if k < len(starts):
            dut.fp32.value = pack_lanes(bits[starts[k]:starts[k] + lanes], 32)
        await ReadOnly()
        if k < latency:
            continue
        first = starts[k - latency]
        real = lanes if first + lanes <= len(x) - pad else len(x) - pad - first      # not the padding
        for name, _ in checks:
            got = split_lanes(resolved(getattr(dut, name)), width, lanes)[:real]
            want = expected[name][0][first:first + real]
            board.compare_lanes(got, want.astype(np.int64),
                                lambda i, name=name, first=first: f"{name} {fmt}: fp32 {bits[first + i]:#010x} "
                                                                  f"({x[first + i]!r})")
        invalid = split_lanes(resolved(dut.sat_invalid), 1, lanes)[:real]
        board.compare_lanes(invalid, expected["sat_codes"][1][first:first + real].astype(np.int64),
                            lambda i, first=first: f"sat_invalid {fmt}: fp32 {bits[first + i]:#010x}")


@cocotb.test()
async def encoder_directed_ties_and_specials(dut):
    p = params()
    x = directed_fp32(p["fmt"])
    board = Scoreboard("encoder_directed_ties_and_specials", dut._log, unit="comparisons")
    await _run_encoders(board, dut, x, p["fmt"], p["lanes"])
    board.finish(vectors=len(x))


@cocotb.test()
async def encoder_random_values(dut):
    p = params()
    x = random_fp32(p["fmt"], p["random_vectors"], rng())
    board = Scoreboard("encoder_random_values", dut._log, unit="comparisons")
    await _run_encoders(board, dut, x, p["fmt"], p["lanes"])
    board.finish(vectors=len(x))
