"""The mutation runner: its mutations, the netlist that selects them, the equivalence check, a run."""

import re

import pytest

from sim.runner import run_bench
from verif import mutants as mu

# q follows a; z is q, and y is b | (b & c), in which the AND can never matter
SMALL = """module top(input clk, input [3:0] a, input b, input c, output reg [3:0] q = 0, output [3:0] z, output y);
  always @(posedge clk) q <= a;
  assign z = q;
  assign y = b | (b & c);
endmodule
"""


def test_the_mutations_are_fixed_by_their_seed_and_mutant_0_is_the_design():
    first = mu.mutation_list(SMALL, 8, 1)
    assert first == mu.mutation_list(SMALL, 8, 1)
    assert first != mu.mutation_list(SMALL, 8, 2)
    assert len(first) == 9 and first[0].endswith("-mode none")
    assert [int(re.search(r"-ctrl mutsel \d+ (\d+)", line)[1]) for line in first] == list(range(9))


def test_every_mutation_sits_behind_the_select_read_from_a_plusarg():
    mutations = mu.mutation_list(SMALL, 4, 1)
    text = mu.apply_mutations(SMALL, mutations)
    assert "module top(clk, a, b, c, q, z, y);" in text                  # no port added
    assert '$value$plusargs("mutant=%d", mutsel)' in text
    for index in range(1, 5):
        assert f"mutsel == 12'h{index:03x}" in text


@pytest.mark.parametrize("mutation, verdict", [
    ("-mode const1 -cell {dff} -port D -portbit 1", "different"),           # q[1] stuck at 1
    ("-mode const0 -cell {dff} -port CLK -portbit 0", "unproven"),         # the proof has no clock
    ("-mode const0 -cell {and_} -port Y -portbit 0", "equivalent"),        # b | (b & c) = b
])
def test_a_survivor_is_proved_equivalent_or_shown_different(tmp_path, mutation, verdict):
    cells = {line.split(" -cell ")[1].split()[0] for line in mu.mutation_list(SMALL, 40, 1)[1:]}
    dff = next(c for c in cells if "procdff" in c)
    and_ = next(c for c in cells if "$and" in c)
    line = f"mutate -ctrl mutsel 12 1 {mutation.format(dff=dff, and_=and_)} -module top"
    assert mu.equivalence(SMALL, line, tmp_path, steps=6) == verdict


@pytest.mark.parametrize("count, seed, match", [(0, 1, "mutants=0"), (5000, 1, "mutants=5000"),
                                                (True, 1, "mutants=True"), (5, -1, "seed=-1")])
def test_counts_out_of_range_are_refused(count, seed, match):
    with pytest.raises(ValueError, match=match):
        mu.check_counts(count, seed)


def test_an_unknown_block_is_refused_by_name():
    with pytest.raises(ValueError, match="'vmac-x9'"):
        mu.mutant_block("vmac-x9")


def test_a_rewrite_needs_its_variant_name():
    with pytest.raises(ValueError, match="both or neither"):
        run_bench("x", dict, {}, "verif.benches.format_codecs", rewrite=str)
