"""hdl.smartquant.view_decoder.ViewDecoder against golden.bitplane.ViewMap.decode, under back-pressure.

Random read line addresses across every view and past the last one go in; each command comes
out once, in order, with the golden view, group and line (or the RANGE cause outside every view).
"""

import numpy as np
import pytest

from golden.bitplane import LINE_BYTES, ViewMap
from hdl.smartquant.cxl_mem import ReqOpcode
from hdl.smartquant.view_decoder import ErrorCause, ViewDecoder

from .sim_support import simulate


@pytest.mark.parametrize("n_groups, seed", [(16, 1), (37, 2), (1000, 3)])
def test_every_command_is_decoded_once_in_order(n_groups, seed):
    gen = np.random.default_rng(seed)
    print(f"seed {seed}")
    view_map = ViewMap(n_groups)
    dut = ViewDecoder(n_groups, 1)
    stride_lines = view_map.stride // LINE_BYTES
    addresses = [int(gen.integers(0, stride_lines * 10)) for _ in range(300)]
    got = []

    async def host(ctx):
        ctx.set(dut.regions[0].limit, 0)                                 # no region: cap 8
        for tag, address in enumerate(addresses):
            ctx.set(dut.i.payload.opcode, ReqOpcode.MEM_RD)
            ctx.set(dut.i.payload.tag, tag)
            ctx.set(dut.i.payload.address, address)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        while len(got) < len(addresses):
            ready = bool(gen.random() < 0.6)
            ctx.set(dut.o.ready, ready)
            _, _, valid, o = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid and ready:
                got.append((o.tag, ErrorCause(o.cause), o.k, o.group, o.line, o.cap))

    simulate(dut, host, sink)
    assert [g[0] for g in got] == list(range(len(addresses)))
    for (_, cause, k, group, line, cap), address in zip(got, addresses):
        want = view_map.decode(address * LINE_BYTES)
        if want is None:
            assert cause == ErrorCause.RANGE, address
        else:
            assert (cause, k, group, line, cap) == (ErrorCause.NONE, want.k, want.group, want.line, 8), address


def test_the_cap_is_the_one_in_force_when_the_command_is_accepted():
    view_map = ViewMap(16)
    dut = ViewDecoder(16, 1)
    stride_lines = view_map.stride // LINE_BYTES
    caps = []

    async def bench(ctx):
        ctx.set(dut.regions[0].base, 0)
        ctx.set(dut.regions[0].limit, 16)
        ctx.set(dut.regions[0].cap, 3)
        ctx.set(dut.o.ready, 0)                                          # the output held off
        for tag in range(2):
            ctx.set(dut.i.payload.opcode, ReqOpcode.MEM_RD)
            ctx.set(dut.i.payload.tag, tag)
            ctx.set(dut.i.payload.address, 7 * stride_lines + tag * 8)  # view 8, groups 0 and 1
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.regions[0].cap, 5)                              # committed after the first is taken
        ctx.set(dut.i.valid, 0)
        await ctx.tick().repeat(3)
        ctx.set(dut.o.ready, 1)
        while len(caps) < 2:
            _, _, valid, cap = await ctx.tick().sample(dut.o.valid, dut.o.payload.cap)
            if valid:
                caps.append(cap)

    simulate(dut, bench)
    assert caps == [3, 5]
