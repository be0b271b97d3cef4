"""hdl.smartquant.fetch_issuer.FetchIssuer: jobs into plane reads, one per cycle, within the read limit."""

from hdl.smartquant.fetch_issuer import FetchIssuer

from .sim_support import simulate


def test_jobs_become_plane_reads_into_their_slots_within_the_outstanding_limit():
    dut = FetchIssuer(group_width=4, row_bits=2, address_width=12, dram_base_burst=256, outstanding=3)
    jobs = [dict(group=5, row=2, col=4, first=1, count=3), dict(group=9, row=0, col=0, first=0, count=1)]
    issued = []

    async def feed(ctx):
        for job in jobs:
            for name, value in job.items():
                ctx.set(getattr(dut.jobs.payload, name), value)
            ctx.set(dut.jobs.valid, 1)
            await ctx.tick().until(dut.jobs.ready)
        ctx.set(dut.jobs.valid, 0)

    async def dram(ctx):
        ctx.set(dut.ready, 1)
        for cycle in range(20):
            ctx.set(dut.pause, cycle == 1)                         # the flush holds the port a cycle
            ctx.set(dut.response, cycle == 8)                      # one read answered
            _, _, valid, address, ident, in_flight = await ctx.tick().sample(dut.valid, dut.address, dut.id, dut.in_flight)
            assert in_flight <= 3
            if valid:
                issued.append((cycle, address, ident))

    simulate(dut, feed, dram)
    # planes 1..3 of group 5 into slots (memory 4 + plane, row 2); the 4th read waits for a response
    assert [(a, i) for _, a, i in issued] == [(256 + 5 * 8 + p, (4 + p) | 2 << 3) for p in (1, 2, 3)] + [(256 + 9 * 8, 0)]
    assert issued[0][0] == 0 and issued[1][0] == 2 and issued[3][0] >= 9
