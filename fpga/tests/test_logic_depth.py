"""fpga.logic_depth on hand-built netlists: levels counted per register, a carry chain as one."""

from fpga.logic_depth import MULTIPLIER_LEVELS, analyse


def _netlist(cells):
    nets = {}
    for cell in cells.values():
        for port, bits in cell["connections"].items():
            for bit in bits:
                nets.setdefault(f"n{bit}", {"bits": [bit]})
    return {"modules": {"top": {"attributes": {"top": 1}, "cells": cells, "netnames": nets}}}


def _cell(kind, inputs, outputs, **parameters):
    connections = {**{p: [b] for p, b in inputs.items()}, **{p: [b] for p, b in outputs.items()}}
    directions = {**{p: "input" for p in inputs}, **{p: "output" for p in outputs}}
    return {"type": kind, "connections": connections, "port_directions": directions, "parameters": parameters}


def test_two_luts_then_a_carry_chain_are_three_levels():
    cells = {
        "q0": _cell("TRELLIS_FF", {"DI": 90}, {"Q": 1}),
        "a": _cell("LUT4", {"A": 1}, {"Z": 2}),
        "b": _cell("LUT4", {"A": 2}, {"Z": 3}),
        "c0": _cell("CCU2C", {"A0": 3}, {"COUT": 4, "S0": 5}),
        "c1": _cell("CCU2C", {"CIN": 4}, {"S0": 6}),
        "q1": _cell("TRELLIS_FF", {"DI": 6}, {"Q": 7}),
    }
    (depth, path), *_ = analyse(_netlist(cells), top=1)
    assert depth == 3 and path[0].startswith("n7")


def test_an_unregistered_multiplier_is_deep_and_a_registered_one_a_register():
    def design(reg):
        return {
            "q0": _cell("TRELLIS_FF", {"DI": 90}, {"Q": 1}),
            "m": _cell("MULT18X18D", {"A0": 1}, {"P0": 2}, REG_INPUTA_CLK=reg),
            "l": _cell("LUT4", {"A": 2}, {"Z": 3}),
            "q1": _cell("TRELLIS_FF", {"DI": 3}, {"Q": 4}),
        }
    assert analyse(_netlist(design("NONE")), top=1)[0][0] == MULTIPLIER_LEVELS + 1
    assert analyse(_netlist(design("CLK0")), top=1)[0][0] == 1
