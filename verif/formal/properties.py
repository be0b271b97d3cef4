"""Reusable formal properties, written as Amaranth ``Assert`` / ``Assume`` in a checker module.

The checker's own registers are ``reset_less`` (a reset of the design under test must not erase
what the checker remembers of the cycle before it). Amaranth 0.5 has no ``Past``: each helper
keeps the previous cycle's values it needs in such registers.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Assume, Module, ResetSignal, Signal, Value

__all__ = ["Past", "stream_holds", "stream_follows_the_rules"]


class Past:
    """The previous cycle's value of signals, and whether there was a previous cycle.

    ``Past(m)`` registers nothing until :meth:`of` is called; ``valid`` is low in the first step.
    """

    def __init__(self, m: Module):
        self.m = m
        self.valid = Signal(name="past_valid", reset_less=True)
        m.d.sync += self.valid.eq(1)

    def of(self, value, name: str) -> Signal:
        past = Signal.like(value, name=f"past_{name}", reset_less=True)
        self.m.d.sync += past.eq(value)
        return past


def _stream_rule(m: Module, past: Past, stream, name: str, statement, reset_clears: bool):
    """``statement`` (Assert or Assume) the rules of one stream port: a ``valid`` not taken
    stays ``valid`` with the same payload in the next cycle (unless a reset came between);
    with ``reset_clears``, nothing is valid in the cycle after a reset."""
    rst = ResetSignal()
    was_valid, was_ready = past.of(stream.valid, f"{name}_valid"), past.of(stream.ready, f"{name}_ready")
    was_payload, was_reset = past.of(Value.cast(stream.payload), f"{name}_payload"), past.of(rst, f"{name}_rst")
    with m.If(past.valid & was_valid & ~was_ready & ~was_reset & ~rst):
        m.d.comb += [statement(stream.valid, f"{name}_valid_held"),
                     statement(Value.cast(stream.payload) == was_payload, f"{name}_payload_held")]
    if reset_clears:
        with m.If(past.valid & was_reset):
            m.d.comb += statement(~stream.valid, f"{name}_invalid_after_reset")


def stream_holds(m: Module, past: Past, stream, name: str, reset_clears: bool = True):
    """Assert the stream rules of an output port of the design under test."""
    _stream_rule(m, past, stream, name, Assert, reset_clears)


def stream_follows_the_rules(m: Module, past: Past, stream, name: str):
    """Assume the stream rules of an input port (its source, the environment, keeps them)."""
    _stream_rule(m, past, stream, name, Assume, reset_clears=False)
