"""hdl.smartquant.serve_stage.ServeStage over a PlaneStore: every view line of an entry, exactly.

The golden view lines (``golden.bitplane.read_view``) of one group held in the pool at a given
row and column come out of DRS in queue order; a response waits for its planes' arrival bits.
"""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring

from golden.bitplane import PLANES, read_view, slot_size
from hdl.smartquant.corner_turn import chunk_phase, first_span
from hdl.smartquant.plane_store import READ_LATENCY, PlaneStore
from hdl.smartquant.serve_stage import ServeStage

from .sim_support import simulate


class _Served(wiring.Component):
    def __init__(self, rows, lane_bits):
        self.store, self.serve = PlaneStore(rows, lane_bits), ServeStage(rows, max(1, (rows - 1).bit_length()), lane_bits, READ_LATENCY)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.store, m.submodules.serve = store, serve = self.store, self.serve
        m.d.comb += [store.r_row.eq(serve.r_row), store.r_first.eq(serve.r_first),
                     store.r_col.eq(serve.r_col), serve.r_spans.eq(store.r_spans)]
        return m


@pytest.mark.parametrize("lane_bits, k, cap", [(512, 8, 8), (512, 3, 3), (128, 5, 2), (64, 1, 1), (64, 7, 7)])
def test_every_line_of_a_view_is_served_from_its_entry(lane_bits, k, cap):
    rows, row = 2, 1
    used = min(k, cap)
    col = 8 - slot_size(used)                                         # the last aligned column
    gen = np.random.default_rng(k * 10 + cap)
    print(f"seed {k * 10 + cap}")
    planes = gen.integers(0, 256, (1, PLANES, 64)).astype(np.uint8)
    want = read_view(planes, k, caps=used)
    top = _Served(rows, lane_bits)
    store, serve = top.store, top.serve
    spans = 512 // lane_bits
    got = []

    async def bench(ctx):
        for p in range(used):                                        # plane p into memory col + p
            value = int.from_bytes(planes[0, p].tobytes(), "little")
            for s in range(spans):
                ctx.set(store.w_row, row)
                ctx.set(store.w_span, s)
                ctx.set(store.w_data[col + p], value >> (lane_bits * s) & ((1 << lane_bits) - 1))
                ctx.set(store.w_en[col + p], -1)
                await ctx.tick()
                ctx.set(store.w_en[col + p], 0)
        ctx.set(serve.drs.ready, 1)
        for line in range(k):
            start = dict(first=first_span(k, line, 0, lane_bits), phase=chunk_phase(k, line, 0, lane_bits))
            for name, value in dict(tag=line, k=k, line=line, used=used, row=row, col=col,
                                   need=((1 << used) - 1) << col, **start).items():
                ctx.set(getattr(serve.queue.payload, name), value)
            ctx.set(serve.queue.valid, 1)
            if line == 0:                                            # no planes yet: the response waits
                await ctx.tick()                                     # (taken into the front register)
                ctx.set(serve.queue.valid, 0)
                for _ in range(8):
                    await ctx.tick()
                    assert ctx.get(serve.busy) and not ctx.get(serve.drs.valid) and not ctx.get(serve.served)
                ctx.set(serve.arrived[row], ((1 << used) - 1) << col)
                continue
            await ctx.tick().until(serve.queue.ready)
        ctx.set(serve.queue.valid, 0)

    async def host(ctx):
        while len(got) < k:
            _, _, valid, tag, data_ = await ctx.tick().sample(serve.drs.valid, serve.drs.payload.tag, serve.drs.payload.data)
            if valid:
                got.append((tag, data_))

    simulate(top, bench, host)
    assert [tag for tag, _ in got] == list(range(k))
    assert [value for _, value in got] == [int.from_bytes(want[line].tobytes(), "little") for line in range(k)]
