"""verif.scoreboard.Scoreboard: counting, the first mismatches kept, in-order expectations, the summary."""

import numpy as np
import pytest

from verif.scoreboard import Scoreboard, same_float


def finished(board, **figures):
    """Run ``finish`` with a recorder; returns (recorded entries, the exception or None)."""
    recorded = []
    try:
        board.finish(record=lambda test, **entry: recorded.append((test, entry)), **figures)
    except AssertionError as error:
        return recorded, error
    return recorded, None


def test_agreeing_values_pass_and_are_counted():
    board = Scoreboard("t", unit="blocks")
    assert board.compare(3, 3, "a") and board.compare((1, [2]), (1, [2]), "b")
    assert board.compare_lanes(np.arange(5), np.arange(5), "lane") == 0
    recorded, error = finished(board, rate=0.5)
    assert error is None
    assert recorded == [("t", {"blocks": 7, "mismatches": 0, "first_mismatches": [], "rate": 0.5})]


def test_mismatches_are_all_counted_and_the_first_kept():
    board = Scoreboard("t", keep=2)
    for i in range(4):
        board.compare(i, i + 1, f"row {i}")
    assert board.compare_lanes([1, 2, 3], [1, 0, 3], lambda i: f"lane {i}") == 1
    recorded, error = finished(board)
    entry = recorded[0][1]
    assert entry["vectors"] == 7 and entry["mismatches"] == 5
    assert entry["first_mismatches"] == ["row 0: hardware 0x0, golden 0x1", "row 1: hardware 0x1, golden 0x2"]
    assert isinstance(error, AssertionError) and "5 mismatches in 7 vectors" in str(error)


def test_arrays_of_different_lengths_mismatch():
    board = Scoreboard("t")
    assert board.compare_lanes([1, 2], [1, 2, 3], "rows") == 1
    assert board.mismatches == 1 and "shape" in board.first[0]


def test_in_order_expectations_missing_and_unexpected_outputs_fail():
    board = Scoreboard("t")
    board.expect(1, "first")
    board.expect(2, "second")
    assert board.observe(1) and board.pending == 1
    recorded, error = finished(board)
    assert error is not None and recorded[0][1]["mismatches"] == 1     # "second" never came
    assert "never observed" in recorded[0][1]["first_mismatches"][0]
    extra = Scoreboard("u")
    assert not extra.observe(7)
    assert finished(extra)[1] is not None


def test_checks_count_as_mismatches_only_when_they_fail():
    board = Scoreboard("t")
    assert board.check(True, "fine") and not board.check(False, "status bit missing")
    board.fail("timeout")
    assert (board.checked, board.mismatches) == (0, 2)
    assert board.first == ["status bit missing", "timeout"]


def test_a_custom_comparison_and_float_identity():
    board = Scoreboard("t", same=same_float)
    assert board.compare(float("nan"), float("nan"), "NaN")
    assert not board.compare(-0.0, 0.0, "signed zero")
    assert not board.compare(1.0, float("nan"), "NaN against a number")
    assert board.mismatches == 2


@pytest.mark.parametrize("keep", [-1, 1.5])
def test_invalid_keep_is_refused(keep):
    with pytest.raises(ValueError, match="keep"):
        Scoreboard("t", keep=keep)
