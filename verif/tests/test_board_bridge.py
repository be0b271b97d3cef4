"""The board top's UART bridge, simulated at a fast baud rate: registers, a write and read, a VMAC beat."""

from fpga.board.top import BridgedAccelerator
from sim.runner import run_bench

PARAMS = {"clk_hz": 8_000_000, "baud": 1_000_000, "n_groups": 4}


def test_bridge_end_to_end():
    tests = run_bench("board-bridge", BridgedAccelerator, PARAMS, "verif.benches.board_bridge").checked()
    assert tests["bridge_end_to_end"]["transactions"] == 4
