"""DRAM plane reads for the plane pool, one per cycle, from a queue of fetch jobs.

A job asks for planes ``first .. first + count - 1`` of ``group`` into the entry at ``row`` /
``col``: plane ``p`` is read from DRAM burst ``dram_base + 8 group + p`` into slot
``Cat(col + p, row)`` (the read's ``id``). At most ``outstanding`` reads are in flight; ``pause``
(the flush writes the DRAM port) holds the issuer.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["FetchJobLayout", "FetchIssuer"]


class FetchJobLayout(data.StructLayout):
    def __init__(self, group_width: int, row_bits: int):
        super().__init__({"group": group_width, "row": row_bits, "col": 3, "first": 3, "count": 4})


class FetchIssuer(wiring.Component):
    """Members
    -------
    jobs : In(stream.Signature(FetchJobLayout))
    valid : Out(1), with ``address`` : Out(address_width), ``id`` : Out(slot_bits)
        A read request; ``ready`` : In(1) takes it.
    pause : In(1)
    response : In(1)
        A read response was taken (one fewer in flight).
    in_flight : Out(range(outstanding + 1))
    """

    def __init__(self, group_width: int, row_bits: int, address_width: int, dram_base_burst: int, outstanding: int):
        self.dram_base_burst, self.outstanding = dram_base_burst, outstanding
        super().__init__({
            "jobs": In(stream.Signature(FetchJobLayout(group_width, row_bits))),
            "valid": Out(1), "address": Out(address_width), "id": Out(3 + row_bits), "ready": In(1),
            "pause": In(1), "response": In(1), "in_flight": Out(range(outstanding + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        job = self.jobs.payload
        issued = Signal(4)                           # planes of the head job already issued
        plane = Signal(3)
        m.d.comb += plane.eq(job.first + issued)
        m.d.comb += [self.valid.eq(self.jobs.valid & ~self.pause & (self.in_flight < self.outstanding)),
                     self.address.eq(self.dram_base_burst + Cat(plane, job.group)),
                     self.id.eq(Cat((job.col + plane)[:3], job.row))]
        issue = Signal()
        m.d.comb += issue.eq(self.valid & self.ready)
        m.d.sync += self.in_flight.eq(self.in_flight + issue - self.response)
        with m.If(issue):
            with m.If(issued + 1 == job.count):
                m.d.comb += self.jobs.ready.eq(1)
                m.d.sync += issued.eq(0)
            with m.Else():
                m.d.sync += issued.eq(issued + 1)
        return m
