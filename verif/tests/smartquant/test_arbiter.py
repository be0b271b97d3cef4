"""hdl.smartquant.arbiter.HostArbiter: Req and RwD taken one per cycle, alternating when both wait."""

from hdl.smartquant.arbiter import HostArbiter

from .sim_support import simulate


def test_both_channels_waiting_alternate_and_a_lone_channel_takes_every_cycle():
    dut = HostArbiter()
    taken = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.req.payload.tag, 1)
        ctx.set(dut.rwd.payload.tag, 2)
        ctx.set(dut.req.valid, 1)
        ctx.set(dut.rwd.valid, 1)
        for _ in range(4):
            taken.append((ctx.get(dut.o.payload.write), ctx.get(dut.o.payload.tag)))
            await ctx.tick()
        ctx.set(dut.rwd.valid, 0)
        for _ in range(2):
            taken.append((ctx.get(dut.o.payload.write), ctx.get(dut.o.payload.tag)))
            assert ctx.get(dut.req.ready) and not ctx.get(dut.rwd.ready)
            await ctx.tick()
        ctx.set(dut.o.ready, 0)
        assert not ctx.get(dut.req.ready)

    simulate(dut, bench)
    writes = [w for w, _ in taken[:4]]
    assert writes in ([0, 1, 0, 1], [1, 0, 1, 0]) and taken[4:] == [(0, 1), (0, 1)]
    assert all(tag == (2 if w else 1) for w, tag in taken)
