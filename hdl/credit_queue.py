"""The output side of a free-running pipeline: a result queue and the credits that keep it from overflowing."""

from amaranth.hdl import Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["CreditQueue"]


class CreditQueue(wiring.Component):
    """Queue of a pipeline's results with credit flow control.

    The pipeline never stalls: its input takes an item while :attr:`ready` is high, and
    every item leaves the pipeline into this queue. ``ready`` is high while fewer than
    ``depth`` items are accepted but not yet delivered on ``o``, so every item in flight
    has a place when ``o`` stalls, and nothing but the input handshake and the queue
    depends on ``o.ready``.

    Parameters
    ----------
    shape : shape-castable
        One result.
    depth : int
        Items accepted but not delivered, at most. A pipeline of latency ``L`` (accept
        to ``w_valid``) runs at one item per cycle with ``depth >= L + 2``.

    Members
    -------
    accepted : In(1)
        An item entered the pipeline this cycle (its input valid and :attr:`ready`).
    ready : Out(1)
        A register: the pipeline may take an item this cycle.
    w_valid, w_data : In
        The pipeline's result, written into the queue.
    o : Out(stream.Signature(shape))
    """

    def __init__(self, shape, depth: int):
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
            raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
        self.depth = depth
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
        width = Signal(self._shape).as_value().shape().width
        # SyncFIFO reads its memory asynchronously, which only distributed RAM can do: the queue
        # maps to LUT RAM. (SyncFIFOBuffered's synchronous read lets Yosys pick a block RAM for a deep
        # queue, whose output without its register takes 5.8 ns, clock to data, on the ECP5.)
        m.submodules.queue = queue = fifo.SyncFIFO(width=width, depth=self.depth)
        m.d.comb += [queue.w_en.eq(self.w_valid), queue.w_data.eq(self.w_data),
                     self.o.valid.eq(queue.r_rdy), self.o.payload.eq(queue.r_data), queue.r_en.eq(self.o.ready)]
        return m
