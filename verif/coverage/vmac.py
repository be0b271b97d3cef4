"""Coverage model of the FGMP VMAC: block pairing × case × stream flow, per block of a checked row.

- pairing: the block's (weight, activation) formats, ``fp4xfp8`` etc. (those the variant has);
- case: what the block's row held or gave — ``zero block`` (this block's weight or activation codes
  all zero), ``NaN element`` (an E4M3 NaN code in this block), ``NaN scale`` (an E4M3 NaN block
  scale on an NVFP4 side of this block), ``overflow to Inf`` and ``subnormal result`` (the row's
  binary32 result), ``cancellation`` (the row's exact accumulator is 0 while some element product
  is not), ``ordinary`` (none of these);
- flow: the stall kinds the streams showed between the row's result and the one before it —
  ``valid gaps`` (the source idle with beats left), ``back-pressure`` (a result offered and not
  taken), ``no stall``.

Impossible pairs are left out of the cross: an NVFP4 × NVFP4 block has no E4M3 element, an
FP8 × FP8 block no block scale.
"""

from __future__ import annotations

import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint

__all__ = ["CASES", "FLOWS", "cases", "pairings", "VmacCoverage"]

CASES = ("ordinary", "zero block", "NaN element", "NaN scale", "overflow to Inf", "subnormal result", "cancellation")
FLOWS = ("no stall", "valid gaps", "back-pressure")
_NAMES = {(False, False): "fp4xfp4", (False, True): "fp4xfp8", (True, False): "fp8xfp4", (True, True): "fp8xfp8"}


def pairings(variant: str) -> list[str]:
    """The pairings a VMAC variant takes."""
    return {"fp8": ["fp8xfp8"], "fp4": ["fp4xfp4"]}.get(variant, list(_NAMES.values()))


def cases(variant: str) -> list[str]:
    """The cases a VMAC variant can meet (no NaN scale without NVFP4, no NaN element without FP8)."""
    absent = {"fp8": "NaN scale", "fp4": "NaN element"}.get(variant)
    return [c for c in CASES if c != absent]


def _impossible(variant: str) -> list[tuple]:
    """Cross bins no block can reach: a NaN element needs an FP8 side, a NaN scale an NVFP4 side."""
    out = []
    for pairing in pairings(variant):
        for case in cases(variant):
            if (pairing, case) in (("fp4xfp4", "NaN element"), ("fp8xfp8", "NaN scale")):
                out += [(pairing, case, flow) for flow in FLOWS]
    return out


class VmacCoverage:
    """The coverpoints of one VMAC variant (one per simulation: cocotb-coverage keeps them by name)."""

    def __init__(self, variant: str):
        self.variant = variant

        @CoverPoint("vmac.pairing", vname="pairing", bins=pairings(variant))
        @CoverPoint("vmac.case", vname="case", bins=cases(variant))
        @CoverPoint("vmac.flow", vname="flow", bins=list(FLOWS))
        @CoverCross("vmac.pairing_x_case_x_flow", items=["vmac.pairing", "vmac.case", "vmac.flow"],
                    ign_bins=_impossible(variant))
        def sample(pairing, case, flow):
            pass

        self._sample = sample

    def sample_rows(self, rows, results, accumulators, flows) -> None:
        """Sample every block of every checked row.

        rows : the bench's ``Rows`` (per operand modes, codes ``(rows, blocks, 16)``, scale codes);
        results : binary32 bits per row; accumulators : exact accumulators per row;
        flows : per row, the set of stall kinds seen before its result (``FLOWS`` names).
        """
        (wm, wc, ws), (am, ac, as_) = rows.w, rows.a
        for r in range(len(results)):
            flow_set = flows[r] if r < len(flows) else set()
            row_cases = set()
            bits = int(results[r]) & 0x7FFF_FFFF
            if bits == 0x7F80_0000:
                row_cases.add("overflow to Inf")
            if 0 < bits < 0x0080_0000:
                row_cases.add("subnormal result")
            if accumulators[r] == 0 and self._some_product(rows, r):
                row_cases.add("cancellation")
            for j in range(wm.shape[1]):
                cases = set(row_cases)
                w_mag = np.where(wm[r, j], wc[r, j] & 0x7F, wc[r, j] & 0x7)
                a_mag = np.where(am[r, j], ac[r, j] & 0x7F, ac[r, j] & 0x7)
                if not w_mag.any() or not a_mag.any():
                    cases.add("zero block")
                if (wm[r, j] and (w_mag == 0x7F).any()) or (am[r, j] and (a_mag == 0x7F).any()):
                    cases.add("NaN element")
                if (not wm[r, j] and ws[r, j] & 0x7F == 0x7F) or (not am[r, j] and as_[r, j] & 0x7F == 0x7F):
                    cases.add("NaN scale")
                pairing = _NAMES[(bool(wm[r, j]), bool(am[r, j]))]
                for case in cases or {"ordinary"}:
                    for flow in flow_set or {"no stall"}:
                        self._sample(pairing, case, flow)

    @staticmethod
    def _some_product(rows, r) -> bool:
        (wm, wc, _), (am, ac, _) = rows.w, rows.a
        w_nz = np.where(wm[r][:, None], wc[r] & 0x7F, wc[r] & 0x7) != 0
        a_nz = np.where(am[r][:, None], ac[r] & 0x7F, ac[r] & 0x7) != 0
        return bool((w_nz & a_nz).any())
