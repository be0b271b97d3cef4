"""Leading-one search as a balanced tree: depth log2(width) instead of a width-long priority chain."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal

__all__ = ["highest_set_bit"]


def _search(value):
    """(index, any) of the highest set bit of ``value`` (width a power of two)."""
    if len(value) == 1:
        return Const(0, 0), value[0]
    half = len(value) // 2
    lo_index, lo_any = _search(value[:half])
    hi_index, hi_any = _search(value[half:])
    return Cat(Mux(hi_any, hi_index, lo_index), hi_any), hi_any | lo_any


def highest_set_bit(m: Module, value, name: str) -> Signal:
    """Index of the highest set bit of ``value`` (0 when ``value`` is 0)."""
    width = 1 << max(len(value) - 1, 0).bit_length()
    index, _ = _search(Cat(value, Const(0, width - len(value))))
    top = Signal(range(max(width, 2)), name=name)
    m.d.comb += top.eq(index)
    return top
