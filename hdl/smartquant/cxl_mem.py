"""CXL.mem transaction-layer messages (the subset a Type-3 weight store needs).

Field widths follow the CXL 2.0/3.0 message definitions; the link and flit layers
are out of scope (``docs/smartquant.md``, section *Host interface*). Addresses are
*line* addresses: ``Address[51:6]`` of the 64-byte-aligned host physical address.

=========  ======================================================================
Channel    Fields (LSB first)
=========  ======================================================================
M2S Req    ``opcode`` (4), ``tag`` (16), ``address`` (46)
M2S RwD    ``opcode`` (4), ``tag`` (16), ``address`` (46), ``poison`` (1), ``data`` (512)
S2M NDR    ``opcode`` (3), ``tag`` (16)
S2M DRS    ``opcode`` (3), ``tag`` (16), ``poison`` (1), ``data`` (512)
=========  ======================================================================
"""

from amaranth.lib import enum

from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["LINE_BITS", "ADDRESS_BITS", "TAG_BITS", "ReqOpcode", "RwDOpcode", "NDROpcode", "DRSOpcode",
           "ReqLayout", "RwDLayout", "NDRLayout", "DRSLayout", "HostSignature"]

LINE_BITS = 512          # one 64-byte cache line
ADDRESS_BITS = 46        # Address[51:6]
TAG_BITS = 16


class ReqOpcode(enum.IntEnum, shape=4):
    """M2S Req ``MemOpcode`` values. Only the two reads are served (the rest are errors)."""
    MEM_INV = 0b0000
    MEM_RD = 0b0001
    MEM_RD_DATA = 0b0010
    MEM_RD_FWD = 0b0011
    MEM_WR_FWD = 0b0100
    MEM_SPEC_RD = 0b1000
    MEM_INV_NT = 0b1001
    MEM_CLN_EVCT = 0b1010


class RwDOpcode(enum.IntEnum, shape=4):
    """M2S RwD ``MemOpcode`` values. Only the full-line write is served."""
    MEM_WR = 0b0001
    MEM_WR_PTL = 0b0010
    BI_CONFLICT = 0b0100


class NDROpcode(enum.IntEnum, shape=3):
    """S2M NDR opcodes; this device answers every write with ``CMP``."""
    CMP = 0b000
    CMP_S = 0b001
    CMP_E = 0b010


class DRSOpcode(enum.IntEnum, shape=3):
    """S2M DRS opcodes; this device answers every read with ``MEM_DATA``."""
    MEM_DATA = 0b000
    MEM_DATA_NXM = 0b001


class ReqLayout(data.Struct):
    opcode: ReqOpcode
    tag: TAG_BITS
    address: ADDRESS_BITS


class RwDLayout(data.Struct):
    opcode: RwDOpcode
    tag: TAG_BITS
    address: ADDRESS_BITS
    poison: 1
    data: LINE_BITS


class NDRLayout(data.Struct):
    opcode: NDROpcode
    tag: TAG_BITS


class DRSLayout(data.Struct):
    opcode: DRSOpcode
    tag: TAG_BITS
    poison: 1
    data: LINE_BITS


class HostSignature(wiring.Signature):
    """CXL.mem seen from the host: ``req``, ``rwd`` out, ``ndr``, ``drs`` in.

    A device takes it as ``In(HostSignature())``.
    """

    def __init__(self):
        super().__init__({
            "req": Out(stream.Signature(ReqLayout)),
            "rwd": Out(stream.Signature(RwDLayout)),
            "ndr": In(stream.Signature(NDRLayout)),
            "drs": In(stream.Signature(DRSLayout)),
        })
