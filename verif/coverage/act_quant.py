"""Coverage model of the FGMP activation unit: input class × chosen mode, and the status bits, per block.

- class: what the block's 16 inputs held (a block holds several) — ``zero``, ``subnormal`` (of its
  input format), ``normal``, ``Inf``, ``NaN``, ``overflow`` (finite, ``|x / s_t| > 448``: FP8
  saturation);
- mode: the block's chosen format, ``FP4`` or ``FP8``;
- status: the block's status bits (``NaN seen`` 1, ``Inf seen`` 2, ``FP8 saturation`` 4, or ``none``).

A block holding a NaN is always FP8 (docs/numerics.md section 4, rule 8), so ``NaN`` × ``FP4`` is
left out of the cross.
"""

from __future__ import annotations

import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint

__all__ = ["CLASSES", "MODES", "STATUS", "ActQuantCoverage"]

CLASSES = ("zero", "subnormal", "normal", "Inf", "NaN", "overflow")
MODES = ("FP4", "FP8")
STATUS = ("none", "NaN seen", "Inf seen", "FP8 saturation")
_MIN_NORMAL = {"bf16": 2.0 ** -126, "fp32": 2.0 ** -126, "fp16": 2.0 ** -14}


class ActQuantCoverage:
    """The coverpoints of the activation unit (one set per simulation)."""

    def __init__(self, input_format: str):
        self.min_normal = _MIN_NORMAL[input_format]

        @CoverPoint("act_quant.class", vname="klass", bins=list(CLASSES))
        @CoverPoint("act_quant.mode", vname="mode", bins=list(MODES))
        @CoverCross("act_quant.class_x_mode", items=["act_quant.class", "act_quant.mode"], ign_bins=[("NaN", "FP4")])
        def sample(klass, mode):
            pass

        @CoverPoint("act_quant.status", vname="status", bins=list(STATUS))
        def sample_status(status):
            pass

        self._sample, self._sample_status = sample, sample_status

    def sample_blocks(self, values, tensor_scale: float, modes, status) -> None:
        """values : (rows, channels) inputs as the unit saw them (their format's values, float64);
        modes : (rows, blocks) True = FP8; status : (rows, blocks) status bits."""
        v = np.asarray(values, np.float64).reshape(modes.shape[0], modes.shape[1], 16)
        mag = np.abs(v)
        with np.errstate(invalid="ignore", over="ignore"):
            classes = {
                "zero": mag == 0, "subnormal": (mag > 0) & (mag < self.min_normal),
                "normal": (mag >= self.min_normal) & np.isfinite(mag) & ~(mag / tensor_scale > 448),
                "Inf": np.isinf(mag), "NaN": np.isnan(mag),
                "overflow": np.isfinite(mag) & (mag / tensor_scale > 448)}
        present = {name: hit.any(axis=-1) for name, hit in classes.items()}
        for r in range(modes.shape[0]):
            for b in range(modes.shape[1]):
                mode = "FP8" if modes[r, b] else "FP4"
                for name in CLASSES:
                    if present[name][r, b]:
                        self._sample(name, mode)
                bits = int(status[r, b])
                for bit, name in ((1, "NaN seen"), (2, "Inf seen"), (4, "FP8 saturation")):
                    if bits & bit:
                        self._sample_status(name)
                if not bits:
                    self._sample_status("none")
