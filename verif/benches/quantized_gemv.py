"""cocotb bench: activation quantization unit chained into the VMAC, a GEMV end to end.

Weights are FGMP-quantized offline by the golden model; raw activations (BF16)
stream in beside them, are quantized in hardware and multiplied in the VMAC.
Every row result is compared bit for bit with golden.fgmp_dot.dot over the
golden quantize_weights / quantize_activations outputs.
"""

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from golden import fgmp, fgmp_dot
from verif.bench_support import pack, params, rng, start, stream_through
from verif.scoreboard import Scoreboard
from verif.harness import QuantizedDotHarness
from verif.benches.fgmp_act_quant import realistic, to_format


@cocotb.test()
async def gemv_end_to_end(dut):
    p, gen = params(), rng()
    rows, channels = p["rows"], p["channels"]
    await start(dut, {"i__valid": 0, "o__ready": 0, "sens_we": 0, "cfg_we": 0}, cycles=1)

    w = gen.standard_normal((rows, channels)) * np.exp(0.5 * gen.standard_normal(channels))
    calib_x = realistic(gen, 64, channels)
    fisher = np.broadcast_to((calib_x ** 2).mean(0), w.shape)               # layer-output-error proxy
    wq = fgmp.quantize_weights(w, fisher, p["fp8_fraction"])
    x_values, x_bits = to_format(realistic(gen, 1, channels), "bf16")
    channel = (w ** 2).sum(0)
    calib, _ = to_format(calib_x, "bf16")
    s_t = fgmp.activation_tensor_scale(np.abs(calib).max())
    threshold = fgmp.calibrate_activation_threshold(calib, channel, p["fp8_fraction"], tensor_scale=s_t)
    aq = fgmp.quantize_activations(x_values, channel, threshold, tensor_scale=s_t)
    n_blocks = channels // 16
    want, _ = fgmp_dot.dot(wq.modes, wq.codes.reshape(rows, n_blocks, 16), wq.scale_codes,
                           aq.modes, aq.codes.reshape(1, n_blocks, 16), aq.scale_codes, wq.tensor_scale, s_t)

    dut.cfg_scale_exp.value = fgmp.scale_exponent(s_t)
    dut.cfg_threshold.value = fgmp.threshold_register(int(threshold))
    dut.cfg_bank.value = 0
    dut.cfg_we.value = 1
    await RisingEdge(dut.clk)
    dut.cfg_we.value = 0
    dut.w_scale.value = int(np.float32(wq.tensor_scale).view(np.uint32))
    dut.a_scale.value = int(np.float32(s_t).view(np.uint32))
    codes, _ = fgmp.sensitivity_codes(channel)
    for b in range(n_blocks):
        await RisingEdge(dut.clk)
        dut.sens_bank.value = 0
        dut.sens_addr.value = b
        dut.sens_data.value = sum(int(c) << (8 * i) for i, c in enumerate(codes[16 * b:16 * b + 16]))
        dut.sens_we.value = 1
    await RisingEdge(dut.clk)
    dut.sens_we.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)

    layout = QuantizedDotHarness(p["input_format"], p["max_channels"]).i.payload.shape()
    beats = [pack(layout, {
        "w": {"fp8": int(wq.modes[r, b]), "codes": [int(c) for c in wq.codes[r, 16 * b:16 * b + 16]],
              "scale": int(wq.scale_codes[r, b])},
        "x": {"values": [int(v) for v in x_bits[0, 16 * b:16 * b + 16]], "block": b},
        "last": int(b == n_blocks - 1)}) for r in range(rows) for b in range(n_blocks)]
    got, _ = await stream_through(dut, beats, rows, gen, p_valid=0.8, p_ready=0.7)
    board = Scoreboard("gemv_end_to_end", dut._log)
    board.compare_lanes(np.asarray(got, np.int64), np.asarray(want, np.int64), lambda r: f"row {r} (binary32)")
    y_float = w @ x_values[0]
    rel = np.abs(np.array(want).view(np.float32) - y_float).max() / np.abs(y_float).max()
    dut._log.info(f"{rows} x {channels} GEMV: {board.mismatches} mismatches; relative error vs FP64 {rel:.3g}")
    board.finish(channels=channels, weight_fp8_fraction=float(wq.fp8_fraction), act_fp8_fraction=float(aq.fp8_fraction),
                 max_relative_error_vs_fp64=float(rel))
