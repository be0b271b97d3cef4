"""Small products built from adders, so that synthesis keeps them in LUTs.

Yosys maps a ``*`` (a constant factor included) onto an ECP5 MULT18X18D without its
internal registers, which nextpnr times as combinational logic (about 3.9 ns from A to P,
``docs/measurements.md``): for a 5 x 5 product that block is slower than the adders it
replaces. These helpers describe the same integer as a sum of shifted partial products,
which Yosys maps to carry chains.
"""

from amaranth.hdl import Const, Mux, Value

__all__ = ["lut_product", "product_rows", "times_constant", "tree_sum"]


def tree_sum(terms):
    """``sum(terms)`` as a balanced tree of two-input adds (depth ``ceil(log2(len))``)."""
    terms = list(terms)
    if not terms:
        return Const(0, 1)
    while len(terms) > 1:
        pairs = [terms[j] + terms[j + 1] for j in range(0, len(terms) - 1, 2)]
        terms = pairs + ([terms[-1]] if len(terms) % 2 else [])
    return terms[0]


def product_rows(a, b) -> list:
    """The ``len(b)`` partial products of ``a * b`` (unsigned): ``a << i`` where ``b[i]`` is set, else 0.

    Their sum is the product; a caller that registers partial sums of them pipelines the product.
    """
    a, b = Value.cast(a), Value.cast(b)
    return [Mux(b[i], a << i, 0) for i in range(len(b))]


def lut_product(a, b) -> Value:
    """``a * b`` (unsigned) as a :func:`tree_sum` of its :func:`product_rows`."""
    return tree_sum(product_rows(a, b))


def times_constant(x, k: int) -> Value:
    """``x * k`` (unsigned ``x``, constant ``k >= 0``) as a sum of shifted copies of ``x``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a non-negative int, got {k!r}")
    x = Value.cast(x)
    return tree_sum(x << i for i in range(k.bit_length()) if k >> i & 1)
