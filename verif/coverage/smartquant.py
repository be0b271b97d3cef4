"""Coverage model of the SmartQuant controller's random traffic: requests, caps, resets, reads.

- kind: what a request was — ``read``, ``read with data opcode`` (MemRdData), ``read past the
  view``, ``read above every view``, ``unserved opcode`` (MemSpecRd), ``write``, ``write not in
  view 8``, ``poisoned write``, ``partial write``;
- view: the view ``k`` (1..8) whose address range the request aimed at;
- cap: the cap written by each region-cap change in flight (1..8);
- reset: the requests in flight (issued, not answered) at each reset, ``1 to 15`` or ``16 or
  more`` (a reset with none in flight is no reset in flight, and has no bin);
- per answered in-view read (:attr:`verif.smartquant_host.SmartQuantBench.read_log`): its view
  × the region cap it was accepted under; what it found in the read buffer
  (:attr:`golden.bitplane.PlaneStoreModel.last_read`: ``miss``, ``grown``, ``hit, planes
  fetched``, ``hit``) × its view; and its back-pressure (``none``, ``request held`` — offered
  and not taken in some cycle —, ``response held`` — its response waited for the host's ready
  —, or ``both``) × what it found.

Pairs left out as unreachable (view × buffer): an entry of ``s`` slots is taken for more than
``s / 2`` planes (or 1) and filled at once, so it never lacks planes at views 1, 2, 3 and 5,
and view 1 never needs a larger entry.
"""

from __future__ import annotations

from cocotb_coverage.coverage import CoverCross, CoverPoint

__all__ = ["BACKPRESSURE", "BUFFER_OUTCOMES", "KINDS", "SmartQuantCoverage"]

KINDS = ("read", "read with data opcode", "read past the view", "read above every view", "unserved opcode",
         "write", "write not in view 8", "poisoned write", "partial write")
VIEWS = list(range(1, 9))
BUFFER_OUTCOMES = ("miss", "grown", "hit, planes fetched", "hit")
BACKPRESSURE = ("none", "request held", "response held", "both")
UNREACHABLE_BUFFER = [(1, "grown")] + [(k, "hit, planes fetched") for k in (1, 2, 3, 5)]


def backpressure(request_held: bool, response_held: bool) -> str:
    """The back-pressure class of one read."""
    return BACKPRESSURE[int(request_held) + 2 * int(response_held)]


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

        @CoverPoint("smartquant.read.view", vname="k", bins=VIEWS)
        @CoverPoint("smartquant.read.region_cap", vname="cap", bins=VIEWS)
        @CoverPoint("smartquant.read.buffer", vname="buffer", bins=list(BUFFER_OUTCOMES))
        @CoverPoint("smartquant.read.backpressure", vname="held", bins=list(BACKPRESSURE))
        @CoverCross("smartquant.read.view_x_region_cap", items=["smartquant.read.view", "smartquant.read.region_cap"])
        @CoverCross("smartquant.read.view_x_buffer", items=["smartquant.read.view", "smartquant.read.buffer"],
                    ign_bins=UNREACHABLE_BUFFER)
        @CoverCross("smartquant.read.backpressure_x_buffer",
                    items=["smartquant.read.backpressure", "smartquant.read.buffer"])
        def read(k, cap, buffer, held):
            pass

        self.request, self.cap, self.reset, self._read = request, cap, reset, read

    def reads(self, log) -> None:
        """Sample every answered read of a bench's ``read_log``."""
        for entry in log:
            self._read(entry["k"], entry["cap"], entry["buffer"],
                       backpressure(entry["request held"], entry["response held"]))
