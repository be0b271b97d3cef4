"""The controller's DRAM side: 64-byte burst requests and read responses.

Addresses count bursts (byte address / 64). Writes are posted (no response);
every read gets one response carrying the request's ``id``. The memory must
complete requests to one address in issue order (a read after a write returns
the written data); responses to different addresses may come back in any order.
"""

from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .cxl_mem import LINE_BITS

__all__ = ["DramRequestLayout", "DramResponseLayout", "DramSignature"]


class DramRequestLayout(data.StructLayout):
    """``write`` (1 = write ``data``), ``address`` (burst index), ``id`` (reads), ``data`` (writes)."""

    def __init__(self, address_width: int, id_width: int):
        super().__init__({"write": 1, "address": address_width, "id": id_width, "data": LINE_BITS})


class DramResponseLayout(data.StructLayout):
    """``id`` of the read it answers and the 64-byte burst ``data``."""

    def __init__(self, id_width: int):
        super().__init__({"id": id_width, "data": LINE_BITS})


class DramSignature(wiring.Signature):
    """Memory-client view: ``req`` out, ``resp`` in (``.flip()`` for the memory)."""

    def __init__(self, address_width: int, id_width: int):
        self.address_width, self.id_width = address_width, id_width
        super().__init__({
            "req": Out(stream.Signature(DramRequestLayout(address_width, id_width))),
            "resp": In(stream.Signature(DramResponseLayout(id_width))),
        })
