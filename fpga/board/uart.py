"""8N1 UART receiver and transmitter as byte streams (the board's host link)."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UARTReceiver", "UARTTransmitter"]


def _divisor(clk_hz: int, baud: int) -> int:
    divisor = round(clk_hz / baud)
    if divisor < 4:
        raise ValueError(f"baud {baud!r} is too fast for a {clk_hz} Hz clock")
    return divisor


class UARTReceiver(wiring.Component):
    """Samples ``rx`` mid-bit; a byte with a bad stop bit is dropped. No flow control:
    a byte not taken before the next one completes is overwritten.

    Members
    -------
    rx : In(1)
    o : Out(stream.Signature(8))
    """

    rx: In(1, init=1)
    o: Out(stream.Signature(8))

    def __init__(self, clk_hz: int, baud: int = 115200):
        self.divisor = _divisor(clk_hz, baud)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        rx_sync = Signal(init=1)
        m.d.sync += [rx_sync.eq(self.rx), rx.eq(rx_sync)]
        timer = Signal(range(2 * self.divisor))
        bit = Signal(range(10))
        shift = Signal(8)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += [timer.eq(self.divisor // 2), bit.eq(0)]
                    m.next = "BITS"
            with m.State("BITS"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [timer.eq(self.divisor - 1), bit.eq(bit + 1)]
                    with m.If(bit == 0):
                        with m.If(rx):                       # a glitch, not a start bit
                            m.next = "IDLE"
                    with m.Elif(bit <= 8):
                        m.d.sync += shift.eq(rx << 7 | shift >> 1)
                    with m.Else():
                        with m.If(rx):
                            m.d.sync += [self.o.payload.eq(shift), self.o.valid.eq(1)]
                        m.next = "IDLE"
        return m


class UARTTransmitter(wiring.Component):
    """Sends each byte of ``i`` as start bit, 8 data bits LSB first, stop bit.

    Members
    -------
    i : In(stream.Signature(8))
    tx : Out(1)
    """

    i: In(stream.Signature(8))
    tx: Out(1, init=1)

    def __init__(self, clk_hz: int, baud: int = 115200):
        self.divisor = _divisor(clk_hz, baud)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        frame = Signal(10, init=0x3FF)
        bits = Signal(range(11))
        m.d.comb += [self.tx.eq(frame[0]), self.i.ready.eq(bits == 0)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [frame.eq(1 << 9 | self.i.payload << 1), bits.eq(10), timer.eq(self.divisor - 1)]
        with m.Elif(bits != 0):
            with m.If(timer != 0):
                m.d.sync += timer.eq(timer - 1)
            with m.Else():
                m.d.sync += [frame.eq(1 << 9 | frame >> 1), bits.eq(bits - 1), timer.eq(self.divisor - 1)]
        return m
