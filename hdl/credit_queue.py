"""The output side of a free-running pipeline: a result queue and the credits that keep it from overflowing."""

from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .block_ram import BLOCK_RAM_TARGETS, DP16KD_DEPTH, BlockRam

__all__ = ["CreditQueue"]

_BUFFER = 4                     # output buffer entries: one waiting, two reads in flight and the next read


class CreditQueue(wiring.Component):
    """Queue of a pipeline's results with credit flow control, held in a block RAM.

    The pipeline never stalls: its input takes an item while :attr:`ready` is high, and
    every item leaves the pipeline into this queue. ``ready`` is high while fewer than
    ``depth`` items are accepted but not yet delivered on ``o``, so every item in flight
    has a place when ``o`` stalls, and nothing but the input handshake and the queue
    depends on ``o.ready``.

    The items wait in a :class:`hdl.block_ram.BlockRam` (read two cycles after its address,
    from its output register) and leave through a small buffer in distributed RAM, which
    the queue keeps from overflowing by counting its reads in flight. A wide queue in
    distributed RAM would need a multiplexer per bit across its 16-word banks.

    Parameters
    ----------
    shape : shape-castable
        One result.
    depth : int
        Items accepted but not delivered, at most (2 ... 512). A pipeline of latency ``L``
        (accept to ``w_valid``) runs at one item per cycle with ``depth >= L + latency + 1``.
    target : {"inferred", "ecp5"}
        The block RAM (:class:`hdl.block_ram.BlockRam`); the same cycles either way.

    Members
    -------
    accepted : In(1)
        An item entered the pipeline this cycle (its input valid and :attr:`ready`).
    ready : Out(1)
        A register: the pipeline may take an item this cycle.
    w_valid, w_data : In
        The pipeline's result, written into the queue.
    o : Out(stream.Signature(shape))

    Attributes
    ----------
    latency : int
        Cycles from ``w_valid`` to ``o.valid`` for an item written into an empty queue.

    Raises
    ------
    ValueError
        ``depth`` not an integer in 2 ... 512, an unknown ``target``.
    """

    latency = 4

    def __init__(self, shape, depth: int, target: str = "inferred"):
        if isinstance(depth, bool) or not isinstance(depth, int) or not 2 <= depth <= DP16KD_DEPTH:
            raise ValueError(f"depth must be an integer in [2, {DP16KD_DEPTH}], got {depth!r}")
        if target not in BLOCK_RAM_TARGETS:
            raise ValueError(f"target must be one of {BLOCK_RAM_TARGETS}, got {target!r}")
        self.depth, self.target = depth, target
        self._shape = shape
        super().__init__({
            "accepted": In(1),
            "ready": Out(1, init=1),
            "w_valid": In(1),
            "w_data": In(shape),
            "o": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        outstanding = Signal(range(self.depth + 1))
        delivered = self.o.valid & self.o.ready
        m.d.sync += outstanding.eq(outstanding + self.accepted - delivered)
        # The count moves by at most one per cycle, so the next ready is a comparison with a constant.
        with m.If(self.accepted & ~delivered):
            m.d.sync += self.ready.eq(outstanding < self.depth - 1)
        with m.Elif(delivered & ~self.accepted):
            m.d.sync += self.ready.eq(1)

        width = Shape.cast(self._shape).width
        m.submodules.storage = storage = BlockRam(width, DP16KD_DEPTH, self.target)
        w_ptr, r_ptr = Signal(range(DP16KD_DEPTH)), Signal(range(DP16KD_DEPTH))
        stored = Signal(range(self.depth + 1))           # written, not yet read out of the RAM
        m.submodules.buffer = buffer = fifo.SyncFIFO(width=width, depth=_BUFFER)
        # A read is issued while the buffer has room for it and the reads in flight. A word is
        # readable the cycle after its write (BlockRam reads a word written with its address old).
        read = Signal()
        flight = [Signal(name="read_1"), Signal(name="read_2")]
        m.d.comb += read.eq((stored != 0) & (buffer.level + flight[0] + flight[1] < _BUFFER))
        m.d.sync += [flight[0].eq(read), flight[1].eq(flight[0])]
        m.d.sync += stored.eq(stored + self.w_valid - read)
        with m.If(self.w_valid):
            m.d.sync += w_ptr.eq(w_ptr + 1)
        with m.If(read):
            m.d.sync += r_ptr.eq(r_ptr + 1)
        m.d.comb += [storage.w_addr.eq(w_ptr), storage.w_data.eq(self.w_data), storage.w_en.eq(self.w_valid),
                     storage.r_addr.eq(r_ptr),
                     buffer.w_en.eq(flight[1]), buffer.w_data.eq(storage.r_data),
                     self.o.valid.eq(buffer.r_rdy), self.o.payload.eq(buffer.r_data), buffer.r_en.eq(self.o.ready)]
        return m
