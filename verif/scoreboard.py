"""The benches' scoreboard: what the golden model expects, compared with what the hardware did.

One :class:`Scoreboard` per cocotb test. Values are compared either at once
(:meth:`Scoreboard.compare`, :meth:`Scoreboard.compare_lanes`) or in order, expected first and
observed later (:meth:`Scoreboard.expect`, :meth:`Scoreboard.observe`). Every comparison is
counted; the first mismatches are logged and kept, with what each was; :meth:`Scoreboard.finish`
writes the bench summary (``checked`` under the test's unit, ``mismatches``, the first
mismatches) and fails the test when anything mismatched or an expected value never came.

The module does not import cocotb, so it is also usable (and unit-tested) outside a simulator.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Callable

import numpy as np

__all__ = ["Scoreboard", "same_float"]


def same_float(got: float, want: float) -> bool:
    """Bit-level equality of two floating-point values: NaN equals NaN, -0 differs from +0."""
    if np.isnan(got) or np.isnan(want):
        return bool(np.isnan(got) and np.isnan(want))
    return bool(got == want and np.signbit(got) == np.signbit(want))


class Scoreboard:
    """Count comparisons of hardware outputs with golden values; keep the first mismatches.

    Parameters
    ----------
    test : str
        The test's name, the key of its entry in the bench summary.
    log : logging.Logger, optional
        Where mismatches are reported (a cocotb ``dut._log``); a module logger by default.
    unit : str
        What one comparison is, the summary's key for the count: ``"vectors"``,
        ``"transactions"``, ``"blocks"``...
    keep : int
        How many mismatches are logged and kept in the summary (all are counted).
    same : callable, optional
        ``same(got, want) -> bool``; ``==`` by default.
    """

    def __init__(self, test: str, log: logging.Logger | None = None, *, unit: str = "vectors", keep: int = 5,
                 same: Callable[[Any, Any], bool] | None = None):
        if not isinstance(keep, int) or keep < 0:
            raise ValueError(f"keep must be a non-negative integer, got {keep!r}")
        self.test, self.unit, self.keep = test, unit, keep
        self.log = log if log is not None else logging.getLogger(f"cxlquant.scoreboard.{test}")
        self.same = same if same is not None else (lambda got, want: got == want)
        self.checked = 0
        self.mismatches = 0
        self.first: list[str] = []
        self._expected: deque = deque()

    # --- comparisons ----------------------------------------------------------------------------
    def compare(self, got, want, what: str = "") -> bool:
        """Compare one observed value with its expected value; True when they agree."""
        self.checked += 1
        if self.same(got, want):
            return True
        self._mismatch(f"{what}: hardware {_show(got)}, golden {_show(want)}")
        return False

    def compare_lanes(self, got, want, what: Callable[[int], str] | str = "") -> int:
        """Compare two equal-length arrays element by element (each element one comparison);
        returns the number of mismatching elements. ``what(i)`` names element ``i``."""
        got, want = np.asarray(got), np.asarray(want)
        if got.shape != want.shape:
            self._mismatch(f"{_name(what, None)}: hardware shape {got.shape}, golden {want.shape}")
            return 1
        self.checked += got.size
        bad = np.flatnonzero(got.ravel() != want.ravel())
        for i in bad:
            self._mismatch(f"{_name(what, int(i))}: hardware {_show(got.ravel()[i])}, golden {_show(want.ravel()[i])}")
        return len(bad)

    def fail(self, message: str) -> None:
        """A mismatch without values to compare (a timeout, an output nothing expected). Checks
        of behaviour besides the compared values (this and :meth:`check`) count as mismatches
        when they fail, never in ``checked``: that counts the golden values compared."""
        self._mismatch(message)

    def check(self, condition: bool, message: str) -> bool:
        """A yes/no check of hardware behaviour: a mismatch (``message``) when ``condition`` is false."""
        if not condition:
            self._mismatch(message)
        return bool(condition)

    # --- in-order expectations ------------------------------------------------------------------
    def expect(self, want, what: str = "") -> None:
        """Queue an expected value; the next :meth:`observe` is compared with the oldest queued."""
        self._expected.append((want, what))

    def observe(self, got) -> bool:
        """Compare an observed value with the oldest expected one (a mismatch when none is queued)."""
        if not self._expected:
            self.fail(f"unexpected output {_show(got)}: nothing was expected")
            return False
        want, what = self._expected.popleft()
        return self.compare(got, want, what)

    @property
    def pending(self) -> int:
        """Expected values not observed yet."""
        return len(self._expected)

    # --- the end of a test ----------------------------------------------------------------------
    def summary(self, **figures) -> dict:
        """The bench-summary entry: the count under ``unit``, mismatches, the first kept, ``figures``."""
        return {self.unit: self.checked, "mismatches": self.mismatches + self.pending,
                "first_mismatches": list(self.first), **figures}

    def finish(self, record: Callable[..., None] | None = None, **figures) -> dict:
        """Write the summary (``record(test, **entry)``, by default the bench's ``record_summary``)
        and fail (``AssertionError``) when anything mismatched or an expected value is missing."""
        for want, what in list(self._expected)[:self.keep]:
            self._note(f"{what}: golden {_show(want)} expected, never observed")
        entry = self.summary(**figures)
        if record is None:
            from .bench_support import record_summary as record      # needs a running cocotb
        record(self.test, **entry)
        if entry["mismatches"]:
            raise AssertionError(f"{self.test}: {entry['mismatches']} mismatches in {self.checked} {self.unit}"
                                 + (f" ({self.pending} expected, never observed)" if self.pending else "")
                                 + (f"; first: {self.first[0]}" if self.first else ""))
        return entry

    def _mismatch(self, message: str) -> None:
        self.mismatches += 1
        self._note(message)

    def _note(self, message: str) -> None:
        if len(self.first) < self.keep:
            self.first.append(message)
            self.log.error(f"{self.test}: {message}")


def _name(what, index) -> str:
    if callable(what):
        return what(index) if index is not None else "array"
    return f"{what} [{index}]" if index is not None else str(what)


def _show(value) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):#x}"
    return repr(value)
