"""Comparisons of a value with a constant as LUT logic, without a carry chain.

Yosys maps ``x < c`` onto an adder (a CCU2C carry chain on ECP5); where the chain
is split across tiles nextpnr adds its routing to the path. A comparison with a
constant needs no carry: split ``x`` into 4-bit digits, compare each digit with the
constant's digit (a 4-input function: one LUT), and combine most significant first.
"""

from amaranth.hdl import Cat, Value

__all__ = ["below"]

_DIGIT = 4


def below(value, constant: int):
    """1-bit ``value < constant`` for a signed or unsigned ``value`` and an integer ``constant``."""
    value = Value.cast(value)
    width = len(value)
    if value.shape().signed:                          # offset binary: flip the sign bit
        bits, constant = Cat(value[:-1], ~value[-1]), constant + (1 << (width - 1))
    else:
        bits = value
    if constant <= 0:
        return Value.cast(0)
    if constant >= (1 << width):
        return Value.cast(1)
    less, equal = Value.cast(0), Value.cast(1)
    for start in reversed(range(0, width, _DIGIT)):
        digit = bits[start:start + _DIGIT]
        c = (constant >> start) & ((1 << len(digit)) - 1)
        digit_less = Cat(*(digit == v for v in range(c))).any() if c else Value.cast(0)
        less, equal = less | (equal & digit_less), equal & (digit == c)
    return less
