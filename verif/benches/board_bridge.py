"""cocotb bench: the board top's UART host bridge end to end (registers, memory controller, VMAC).

Bytes are sent and received as UART frames on the ``rx`` / ``tx`` pins at the
divisor the top was built with (``clk_hz / baud`` cycles per bit).
"""

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge

from golden import fgmp_dot
from golden.bitplane import LINE_BYTES, PLANES, ViewMap
from hdl.fgmp_layout import beat_layout
from hdl.smartquant.cxl_mem import DRSLayout, NDRLayout, ReqLayout, RwDLayout
from hdl.smartquant.register_map import DEVICE_ID, REGISTERS
from verif.bench_support import pack, params, rng, split_struct, start
from verif.scoreboard import Scoreboard

COMMAND_IDS = {"req": 1, "rwd": 2, "reg_write": 3, "reg_read": 4, "vmac": 5}
RESPONSE_IDS = {0x81: "drs", 0x82: "ndr", 0x83: "reg_data", 0x84: "vmac_result"}


class Uart:
    def __init__(self, dut, divisor):
        self.dut, self.divisor = dut, divisor

    async def send(self, data: bytes):
        for byte in data:
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                self.dut.rx.value = bit
                await ClockCycles(self.dut.clk, self.divisor)

    async def receive(self, n: int, limit: int = 200_000) -> bytes:
        out = bytearray()
        waited = 0
        while len(out) < n:
            await RisingEdge(self.dut.clk)
            waited += 1
            if waited > limit:
                raise AssertionError(f"timeout: {len(out)} of {n} bytes received")
            if self.dut.tx.value == 0:                                    # start bit
                await ClockCycles(self.dut.clk, self.divisor // 2)
                byte = 0
                for i in range(8):
                    await ClockCycles(self.dut.clk, self.divisor)
                    byte |= int(self.dut.tx.value) << i
                await ClockCycles(self.dut.clk, self.divisor)           # stop bit
                out.append(byte)
        return bytes(out)


def frame(command: str, width: int, value: int) -> bytes:
    return bytes([COMMAND_IDS[command]]) + value.to_bytes((width + 7) // 8, "little")


async def response(uart, widths: dict) -> tuple[str, int]:
    header = (await uart.receive(1))[0]
    name = RESPONSE_IDS[header]
    body = await uart.receive((widths[name] + 7) // 8)
    return name, int.from_bytes(body, "little")


@cocotb.test()
async def bridge_end_to_end(dut):
    p, gen = params(), rng()
    await start(dut, {"rx": 1}, cycles=3)                       # the UART line idles high
    uart = Uart(dut, p["clk_hz"] // p["baud"])
    widths = {"drs": 532, "ndr": 19, "reg_data": 32, "vmac_result": 32}
    board = Scoreboard("bridge_end_to_end", dut._log, unit="transactions")

    await uart.send(frame("reg_read", 8, REGISTERS["ID"]))
    name, value = await response(uart, widths)
    board.compare((name, value), ("reg_data", DEVICE_ID), "ID register read")

    vm = ViewMap(p["n_groups"])
    line = gen.integers(0, 256, LINE_BYTES).astype(np.uint8)
    address = vm.encode(PLANES, 1, 3) // LINE_BYTES
    await uart.send(frame("rwd", 579, pack(RwDLayout, {"opcode": 1, "tag": 0x1234, "address": address,
                                                       "poison": 0, "data": int.from_bytes(line.tobytes(), "little")})))
    name, value = await response(uart, widths)
    board.compare((name, split_struct(value, NDRLayout)["tag"]), ("ndr", 0x1234), "write completion (channel, tag)")
    await uart.send(frame("req", 66, pack(ReqLayout, {"opcode": 1, "tag": 0x0042, "address": address})))
    name, value = await response(uart, widths)
    drs = split_struct(value, DRSLayout)
    board.compare((name, drs["tag"], drs["poison"], drs["data"]),
                  ("drs", 0x42, 0, int.from_bytes(line.tobytes(), "little")), "read response (channel, tag, poison, data)")

    layout = beat_layout("mixed", 1)
    codes_w = gen.integers(0, 0x7E, 16)
    codes_a = gen.integers(0, 8, 16)
    beat = {"w": [{"fp8": 1, "codes": [int(c) for c in codes_w], "scale": 0}],
            "a": [{"fp8": 0, "codes": [int(c) for c in codes_a], "scale": 0x38}], "last": 1}
    await uart.send(frame("vmac", layout.size, pack(layout, beat)))
    name, value = await response(uart, widths)
    want, _ = fgmp_dot.dot(np.array([[True]]), codes_w.reshape(1, 1, 16).astype(np.uint8), np.array([[0]], np.uint8),
                           np.array([[False]]), codes_a.reshape(1, 1, 16).astype(np.uint8),
                           np.array([[0x38]], np.uint8), 1.0, 1.0)
    board.compare((name, value), ("vmac_result", int(want[0])), "VMAC result (channel, binary32)")
    board.finish()
