"""Pipeline registers: the one way the datapaths register a value.

Data registers are reset-less (a reset only needs to clear the valid bits that
travel beside them); valid bits reset to 0.
"""

from amaranth.hdl import Module, Signal

__all__ = ["reg", "valid_reg", "delay"]


def reg(m: Module, name: str, shape, value) -> Signal:
    """``value`` registered once, reset-less."""
    out = Signal(shape, name=name, reset_less=True)
    m.d.sync += out.eq(value)
    return out


def valid_reg(m: Module, name: str, value) -> Signal:
    """A valid bit registered once; reset clears it."""
    out = Signal(name=name)
    m.d.sync += out.eq(value)
    return out


def delay(m: Module, value, cycles: int, name: str):
    """``value`` through ``cycles`` reset-less registers (``value`` itself for 0); a view stays a view."""
    for k in range(cycles):
        value = reg(m, f"{name}_d{k + 1}", value.shape(), value)
    return value
