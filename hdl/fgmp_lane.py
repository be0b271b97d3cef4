"""One lane of the FGMP dot product: decode two elements, multiply them exactly.

Numerics: ``docs/numerics.md``, section *FGMP dot product*. An element is
``(-1)**sign * m * 2**sh`` in units of ``2**-10``: an FP8 (E4M3) element has
``m`` = its 4-bit significand and ``sh`` = its exponent field less 1 (0 for
subnormals) plus 1; an NVFP4 element has ``m`` = its 2-bit E2M1 significand
times the 4-bit significand of its E4M3 block scale and ``sh`` = the sum of the
two shifts. The product of two elements is ``(m_w * m_a) << (sh_w + sh_a)`` in
units of ``2**-20``.

The significand product is built from AND rows added by a balanced tree
(:func:`lut_product`), not ``*``: Yosys would map ``*`` onto a DSP block, which
ECP5 times as combinational (about 147 MHz from register to register), and a
6 x 6 product costs a few tens of LUTs.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .small_float import e2m1_mantissa_shift, e4m3_mantissa_shift

__all__ = ["M_BITS", "SH_BITS", "SCALE_LAYOUT", "decode_scale", "fp8_element", "fp4_element", "element_fields",
           "product_rows", "lut_product", "FP8ProductLane"]

M_BITS = 6          # significand of an element: 4 bits (E4M3) or 2 x 4 bits (E2M1 times its block scale)
SH_BITS = 5         # shift of an element: 0 .. 16


SCALE_LAYOUT = data.StructLayout({"m": 4, "sh": 4, "nan": 1})
"""An E4M3 block scale decoded once per block: ``m << sh`` in units of ``2**-9``, NaN flag."""


def decode_scale(code):
    """The :data:`SCALE_LAYOUT` fields (combinational) of an E4M3 block-scale code."""
    m, sh = e4m3_mantissa_shift(code)
    return Cat(m[:4], sh[:4], code[:7] == 0x7F)


def fp8_element(code):
    """(sign, m, sh, nan) of an E4M3 element: ``±m << sh`` in units of ``2**-10``.

    E4M3 ``n * 2**-9`` is ``m << (field - 1)`` (``m`` with the hidden bit; ``field - 1`` is 0
    for subnormals), so ``sh`` is the exponent field itself, or 1 for subnormals: no adder.
    """
    exp_field, mant = code[3:7], code[:3]
    return (code[7], Mux(exp_field == 0, mant, Cat(mant, Const(1, 1))), Mux(exp_field == 0, 1, exp_field),
            code[:7] == 0x7F)


def fp4_element(code, scale):
    """(sign, m, sh, nan) of an E2M1 element times its decoded block ``scale`` (:data:`SCALE_LAYOUT`)."""
    m4, sh4 = e2m1_mantissa_shift(code[:4])
    return code[3], lut_product(m4, scale.m), sh4 + scale.sh, scale.nan


def element_fields(m: Module, variant: str, block, scale, lane: int, name: str):
    """Sign, ``m``, ``sh`` and NaN flag (combinational) of element ``lane`` of ``block``.

    ``block`` is a :func:`hdl.fgmp_layout.block_layout` view of ``variant``; ``scale`` its
    block scale as :data:`SCALE_LAYOUT` (decoded a stage earlier, shared by the 16 lanes), or
    None for ``variant="fp8"``.
    """
    fields = [Signal(name=f"{name}_s"), Signal(M_BITS, name=f"{name}_m"), Signal(SH_BITS, name=f"{name}_sh"),
              Signal(name=f"{name}_nan")]
    code = block.codes[lane]
    choices = {}
    if variant != "fp4":
        choices["fp8"] = [f.eq(v) for f, v in zip(fields, fp8_element(code))]
    if variant != "fp8":
        choices["fp4"] = [f.eq(v) for f, v in zip(fields, fp4_element(code, scale))]
    if variant == "mixed":
        with m.If(block.fp8):
            m.d.comb += choices["fp8"]
        with m.Else():
            m.d.comb += choices["fp4"]
    else:
        m.d.comb += choices[variant]
    return tuple(fields)


def product_rows(a, b) -> list:
    """Unsigned ``a * b`` as half as many partial sums: AND rows of ``a``, added in pairs.

    Their sum is the product; a pipeline registers them before adding the rest.
    """
    rows = [Mux(b[k], a, 0) << k for k in range(len(b))]
    return [rows[k] + rows[k + 1] if k + 1 < len(rows) else rows[k] for k in range(0, len(rows), 2)]


def lut_product(a, b):
    """Unsigned ``a * b`` from AND rows and adders (no DSP inference), in one cycle."""
    return sum(product_rows(a, b))


class FP8ProductLane(wiring.Component):
    """The VMAC's lane for two E4M3 codes: the exact product, OCP E4M3 with subnormals.

    The same decode (:func:`fp8_element`) and product rows as :class:`hdl.fgmp_vmac.FGMPVmac`,
    in two registered stages: decode, then the 4 x 4 significand product and the shift sum.

    Members
    -------
    w, a : In(unsigned(8))
        E4M3 codes.
    o : Out(product_layout)
        ``(-1)**sign * magnitude * 2**(shift - 20)``, exactly, for the codes presented
        :attr:`latency` cycles earlier; ``nan`` if either code is NaN.
    """

    latency = 2
    product_layout = data.StructLayout({"sign": 1, "magnitude": unsigned(8), "shift": unsigned(5), "nan": 1})

    def __init__(self):
        super().__init__({"w": In(8), "a": In(8), "o": Out(self.product_layout)})

    def elaborate(self, platform):
        m = Module()
        decoded = []
        for port in (self.w, self.a):
            fields = Signal(data.StructLayout({"s": 1, "m": 4, "sh": 4, "nan": 1}), reset_less=True)
            m.d.sync += fields.eq(Cat(*fp8_element(port)))
            decoded.append(fields)
        w, a = decoded
        m.d.sync += [self.o.sign.eq(w.s ^ a.s), self.o.magnitude.eq(lut_product(w.m, a.m)),
                     self.o.shift.eq(w.sh + a.sh), self.o.nan.eq(w.nan | a.nan)]
        return m
