"""hdl.smartquant.response_writer.ResponseWriter: a burst into its slot, one span per cycle."""

from hdl.smartquant.response_writer import ResponseWriter

from .sim_support import simulate


def test_a_burst_is_written_a_span_per_cycle_and_arrives_with_the_last():
    dut = ResponseWriter(rows=4, slot_bits=5, lane_bits=128)
    burst = sum((0x1111 * (s + 1)) << (128 * s) for s in range(4))
    writes = []

    async def dram(ctx):
        ctx.set(dut.resp.payload.id, 6 | 3 << 3)                   # memory 6, row 3
        ctx.set(dut.resp.payload.data, burst)
        ctx.set(dut.resp.valid, 1)
        await ctx.tick().until(dut.resp.ready)
        ctx.set(dut.resp.valid, 0)

    async def watch(ctx):
        for _ in range(8):
            _, _, busy, row, span, memory, data, arrived = await ctx.tick().sample(
                dut.busy, dut.row, dut.span, dut.memory, dut.data, dut.arrived)
            if busy:
                writes.append((row, span, memory, data, arrived))

    simulate(dut, dram, watch)
    assert writes == [(3, s, 6, 0x1111 * (s + 1), int(s == 3)) for s in range(4)]


def test_pause_holds_responses_off():
    dut = ResponseWriter(rows=1, slot_bits=4, lane_bits=512)

    async def bench(ctx):
        ctx.set(dut.pause, 1)
        ctx.set(dut.resp.valid, 1)
        await ctx.tick()
        assert not ctx.get(dut.resp.ready) and not ctx.get(dut.busy)
        ctx.set(dut.pause, 0)
        assert ctx.get(dut.resp.ready)

    simulate(dut, bench)
