"""Running a component's testbench in Amaranth's simulator (the unit tests of ``hdl.smartquant``)."""

from amaranth.sim import Simulator


def simulate(dut, *benches):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run()
