"""Byte-serial host bridge: framed commands in, framed responses out, over any byte stream.

Frame format (``docs/board.md``): one id byte, then the payload of the
addressed stream, least significant byte first, ``ceil(width / 8)`` bytes.
Commands (host -> device) have ids ``0x01, 0x02, ...`` in the order given;
responses (device -> host) have ids ``0x81, 0x82, ...``. An unknown command
id is skipped (the next byte is read as an id again).
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["HostBridge"]


def _nbytes(width: int) -> int:
    return (width + 7) // 8


class HostBridge(wiring.Component):
    """Frames ↔ streams.

    Parameters
    ----------
    commands : dict of name -> payload width
        Streams out of the bridge (``Out(stream.Signature(width))`` members).
    responses : dict of name -> payload width
        Streams into the bridge; when several wait, the first in order is sent first.

    Members
    -------
    rx : In(stream.Signature(8))
    tx : Out(stream.Signature(8))
    """

    def __init__(self, commands: dict, responses: dict):
        if not commands or not responses or len(commands) > 127 or len(responses) > 127:
            raise ValueError(f"need 1..127 commands and responses, got {len(commands)} and {len(responses)}")
        self.commands, self.responses = dict(commands), dict(responses)
        members = {"rx": In(stream.Signature(8)), "tx": Out(stream.Signature(8))}
        members.update({name: Out(stream.Signature(width)) for name, width in commands.items()})
        members.update({name: In(stream.Signature(width)) for name, width in responses.items()})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        # --- commands ------------------------------------------------------------------
        in_bytes = max(_nbytes(w) for w in self.commands.values())
        buffer = Signal(8 * in_bytes)
        target = Signal(range(len(self.commands) + 1))
        count = Signal(range(in_bytes + 1))
        needed = Signal(range(in_bytes + 1))
        with m.Switch(target):
            for index, width in enumerate(self.commands.values(), start=1):
                with m.Case(index):
                    m.d.comb += needed.eq(_nbytes(width))
        with m.FSM(name="command"):
            with m.State("ID"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    for index in range(1, len(self.commands) + 1):
                        with m.If(self.rx.payload == index):
                            m.d.sync += [target.eq(index), count.eq(0)]
                            m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.sync += [buffer.word_select(count, 8).eq(self.rx.payload), count.eq(count + 1)]
                    with m.If(count + 1 == needed):
                        m.next = "DELIVER"
            with m.State("DELIVER"):
                for index, name in enumerate(self.commands, start=1):
                    port = getattr(self, name)
                    m.d.comb += port.payload.eq(buffer)
                    with m.If(target == index):
                        m.d.comb += port.valid.eq(1)
                        with m.If(port.ready):
                            m.next = "ID"

        # --- responses -------------------------------------------------------------------
        out_bytes = max(_nbytes(w) for w in self.responses.values())
        out_buffer = Signal(8 * out_bytes)
        header = Signal(8)
        remaining = Signal(range(out_bytes + 2))
        with m.FSM(name="response"):
            with m.State("PICK"):
                chosen = None
                for index, (name, width) in enumerate(self.responses.items(), start=1):
                    port = getattr(self, name)
                    condition = port.valid if chosen is None else port.valid & ~chosen
                    with m.If(condition):
                        m.d.comb += port.ready.eq(1)
                        m.d.sync += [out_buffer.eq(port.payload), header.eq(0x80 | index),
                                     remaining.eq(_nbytes(width))]
                        m.next = "HEADER"
                    chosen = port.valid if chosen is None else chosen | port.valid
            with m.State("HEADER"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(header)]
                with m.If(self.tx.ready):
                    m.next = "BYTES"
            with m.State("BYTES"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(out_buffer[:8])]
                with m.If(self.tx.ready):
                    m.d.sync += [out_buffer.eq(out_buffer >> 8), remaining.eq(remaining - 1)]
                    with m.If(remaining == 1):
                        m.next = "PICK"
        return m
