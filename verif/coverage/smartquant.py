"""Coverage model of the SmartQuant controller's random traffic: request kind × view, caps, resets.

- kind: what a request was — ``read``, ``read with data opcode`` (MemRdData), ``read past the
  view``, ``read above every view``, ``unserved opcode`` (MemSpecRd), ``write``, ``write not in
  view 8``, ``poisoned write``, ``partial write``;
- view: the view ``k`` (1..8) whose address range the request aimed at;
- cap: the cap written by each region-cap change in flight (1..8);
- reset: the requests in flight (issued, not answered) at each reset, ``1 to 15`` or ``16 or
  more`` (a reset with none in flight is no reset in flight, and has no bin).

Not modelled yet (the issue's full cross): plane-pool hit or miss per read and back-pressure per
request, which the bench does not attribute to single requests.
"""

from __future__ import annotations

from cocotb_coverage.coverage import CoverCross, CoverPoint

__all__ = ["KINDS", "SmartQuantCoverage"]

KINDS = ("read", "read with data opcode", "read past the view", "read above every view", "unserved opcode",
         "write", "write not in view 8", "poisoned write", "partial write")
VIEWS = list(range(1, 9))


class SmartQuantCoverage:
    """The coverpoints of the controller's random traffic (one set per simulation)."""

    def __init__(self):
        @CoverPoint("smartquant.kind", vname="kind", bins=list(KINDS))
        @CoverPoint("smartquant.view", vname="view", bins=VIEWS)
        @CoverCross("smartquant.kind_x_view", items=["smartquant.kind", "smartquant.view"],
                    # a view-8 write aims at view 8 whatever k was drawn; so do its poisoned and
                    # partial forms; "not in view 8" is never view 8
                    ign_bins=[(kind, k) for kind in ("write", "poisoned write", "partial write") for k in VIEWS if k != 8]
                    + [("write not in view 8", 8)])
        def request(kind, view):
            pass

        @CoverPoint("smartquant.cap", vname="cap", bins=VIEWS)
        def cap(cap):
            pass

        @CoverPoint("smartquant.reset", xf=lambda in_flight: "1 to 15 in flight" if 0 < in_flight < 16
                    else "16 or more in flight" if in_flight >= 16 else "none in flight",
                    bins=["1 to 15 in flight", "16 or more in flight"])
        def reset(in_flight):
            pass

        self.request, self.cap, self.reset = request, cap, reset
