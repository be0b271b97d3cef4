"""FGMP vector MAC: mixed NVFP4 / FP8 block dot products, exact accumulation, FP32 per row.

Numerics: :mod:`golden.fgmp_dot` and ``docs/numerics.md``, section *FGMP dot
product*. Each element is decoded to ``±m * 2**sh`` in units of ``2**-10``
(``m`` at most 6 bits: an E4M3 significand, or an E2M1 significand times the
block scale's), so a lane is a 6 x 6 multiplier and a shifter; block sums and
the row accumulator are exact integers; one round-to-nearest-even turns the
row into FP32 after multiplying by both tensor scales.

Pipeline (all stages advance together unless a finished row waits on a
stalled output): input register -> lane products -> block sum -> accumulator
-> scale product -> FP32 rounding -> output register.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.fgmp_dot import ACC_BITS, FP32_QNAN

from .bit_search import highest_set_bit
from .small_float import e2m1_mantissa_shift, e4m3_mantissa_shift

__all__ = ["VARIANTS", "BLOCK", "block_layout", "beat_layout", "FGMPVmac"]

VARIANTS = ("mixed", "fp8", "fp4")
BLOCK = 16
_PRODUCT_BITS = 45          # |w * a| < 2**44 in units of 2**-20, plus sign
_M_BITS = 6
_SH_BITS = 5


def block_layout(variant: str) -> data.StructLayout:
    """One operand block: mode bit (True = FP8), 16 codes, E4M3 block scale — as the variant needs."""
    fields = {}
    if variant == "mixed":
        fields["fp8"] = unsigned(1)
    fields["codes"] = data.ArrayLayout(unsigned(4 if variant == "fp4" else 8), BLOCK)
    if variant != "fp8":
        fields["scale"] = unsigned(8)
    return data.StructLayout(fields)


def beat_layout(variant: str, blocks: int) -> data.StructLayout:
    """One stream beat: ``blocks`` weight blocks, ``blocks`` activation blocks, end of row."""
    return data.StructLayout({
        "w": data.ArrayLayout(block_layout(variant), blocks),
        "a": data.ArrayLayout(block_layout(variant), blocks),
        "last": unsigned(1),
    })


class FGMPVmac(wiring.Component):
    """Dot products of FGMP block rows, one beat of ``blocks`` block pairs per cycle.

    Parameters
    ----------
    blocks : int
        Block pairs per beat (1, 2, ...). A row is a whole number of beats.
    variant : {"mixed", "fp8", "fp4"}
        ``"mixed"`` handles all four pairings by the mode bits; ``"fp8"`` and
        ``"fp4"`` build only one block kind (for measuring the cost of mixing).

    Members
    -------
    i : In(stream.Signature(beat_layout(variant, blocks)))
        Block pairs; ``last`` marks the final beat of a row.
    o : Out(stream.Signature(unsigned(32)))
        One FP32 bit pattern per row: ``rne(acc * s_w * s_a * 2**-20)``; NaN is
        ``0x7FC00000`` (a NaN element or scale code in the row, or a
        non-finite tensor scale).
    w_scale, a_scale : In(unsigned(32))
        FP32 tensor scales (bit patterns). Configuration: change them only
        while no row is in flight.

    Raises
    ------
    ValueError
        ``blocks`` < 1 or an unknown ``variant``.
    """

    def __init__(self, blocks: int = 1, variant: str = "mixed"):
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
            raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.blocks, self.variant = blocks, variant
        super().__init__({
            "i": In(stream.Signature(beat_layout(variant, blocks))),
            "o": Out(stream.Signature(unsigned(32))),
            "w_scale": In(unsigned(32)),
            "a_scale": In(unsigned(32)),
        })

    # ---- element decode -----------------------------------------------------------------
    def _element(self, m, block, lane, name):
        """Sign, m, sh and NaN flag of one element in units of 2**-10."""
        sign = Signal(name=f"{name}_s")
        mm = Signal(_M_BITS, name=f"{name}_m")
        sh = Signal(_SH_BITS, name=f"{name}_sh")
        nan = Signal(name=f"{name}_nan")
        code = block.codes[lane]
        if self.variant != "fp4":
            m8, sh8 = e4m3_mantissa_shift(code)
            fp8 = [sign.eq(code[7]), mm.eq(m8), sh.eq(sh8 + 1), nan.eq(code[:7] == 0x7F)]
        if self.variant != "fp8":
            m4, sh4 = e2m1_mantissa_shift(code[:4])
            mb, shb = e4m3_mantissa_shift(block.scale)
            fp4 = [sign.eq(code[3]), mm.eq(m4 * mb), sh.eq(sh4 + shb),
                   nan.eq(block.scale[:7] == 0x7F)]
        if self.variant == "mixed":
            with m.If(block.fp8):
                m.d.comb += fp8
            with m.Else():
                m.d.comb += fp4
        else:
            m.d.comb += fp8 if self.variant == "fp8" else fp4
        return sign, mm, sh, nan

    def elaborate(self, platform):
        m = Module()
        lanes = self.blocks * BLOCK

        # Lock-step pipeline: everything advances unless a finished row is stuck at the output.
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]

        # Stage 0: input register.
        v0 = Signal()
        beat = Signal(self.i.payload.shape())
        with m.If(advance):
            m.d.sync += [v0.eq(self.i.valid), beat.eq(self.i.payload)]

        # Stage 1: lane products (units of 2**-20) and NaN flags.
        v1, last1, nan1 = Signal(), Signal(), Signal()
        products = Signal(data.ArrayLayout(signed(_PRODUCT_BITS), lanes))
        nans = []
        for b in range(self.blocks):
            for lane in range(BLOCK):
                ws, wm, wsh, wn = self._element(m, beat.w[b], lane, f"w{b}_{lane}")
                as_, am, ash, an = self._element(m, beat.a[b], lane, f"a{b}_{lane}")
                magnitude = (wm * am) << (wsh + ash)
                with m.If(advance):
                    m.d.sync += products[b * BLOCK + lane].eq(Mux(ws ^ as_, -magnitude, magnitude))
                nans += [wn, an]
        with m.If(advance):
            m.d.sync += [v1.eq(v0), last1.eq(beat.last), nan1.eq(Cat(*nans).any())]

        # Stage 2: beat sum.
        v2, last2, nan2 = Signal(), Signal(), Signal()
        beat_sum = Signal(signed(_PRODUCT_BITS + (lanes - 1).bit_length()))
        with m.If(advance):
            m.d.sync += [v2.eq(v1), last2.eq(last1), nan2.eq(nan1),
                         beat_sum.eq(sum(products[k] for k in range(lanes)))]

        # Stage 3: row accumulator; a finished row moves on.
        acc = Signal(signed(ACC_BITS))
        acc_nan = Signal()
        v3, row_acc, row_nan = Signal(), Signal(signed(ACC_BITS)), Signal()
        with m.If(advance):
            m.d.sync += v3.eq(v2 & last2)
            with m.If(v2):
                with m.If(last2):
                    m.d.sync += [row_acc.eq(acc + beat_sum), row_nan.eq(acc_nan | nan2),
                                 acc.eq(0), acc_nan.eq(0)]
                with m.Else():
                    m.d.sync += [acc.eq(acc + beat_sum), acc_nan.eq(acc_nan | nan2)]

        # Tensor scales: M = Mw * Ma, E = ew + ea - 20 (registered; static configuration).
        scale_m = Signal(48)
        scale_e = Signal(signed(10))
        scale_bad = Signal()
        scale_sign = Signal()
        parts = []
        for port in (self.w_scale, self.a_scale):
            exp_field, frac = port[23:31], port[:23]
            mant = Mux(exp_field == 0, frac, Cat(frac, Const(1, 1)))
            exp = Mux(exp_field == 0, -149, exp_field - 150)
            parts.append((mant, exp, exp_field == 0xFF))
        m.d.sync += [scale_m.eq(parts[0][0] * parts[1][0]), scale_e.eq(parts[0][1] + parts[1][1] - 20),
                     scale_bad.eq(parts[0][2] | parts[1][2]),
                     scale_sign.eq(self.w_scale[31] ^ self.a_scale[31])]

        # Stage 4: magnitude product.
        v4, nan4, sign4 = Signal(), Signal(), Signal()
        prod = Signal(ACC_BITS + 48)
        with m.If(advance):
            m.d.sync += [v4.eq(v3), nan4.eq(row_nan | scale_bad), sign4.eq((row_acc < 0) ^ scale_sign),
                         prod.eq(Mux(row_acc < 0, -row_acc, row_acc).as_unsigned() * scale_m)]

        # Stage 5: round prod * 2**scale_e to FP32 (RNE, subnormals, overflow to inf).
        result = self._round_fp32(m, prod, scale_e, sign4, nan4)
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(v4), self.o.payload.eq(result)]
        return m

    @staticmethod
    def _round_fp32(m, prod, exp, sign, nan):
        width = len(prod)
        top = highest_set_bit(m, prod, "top")
        normal_qexp = Signal(signed(12), name="normal_qexp")
        qexp = Signal(signed(12), name="qexp")                    # exponent of the result's LSB
        m.d.comb += [normal_qexp.eq(top + exp - 23),
                     qexp.eq(Mux(normal_qexp < -149, -149, normal_qexp))]
        shift = Signal(signed(12), name="shift")
        m.d.comb += shift.eq(qexp - exp)
        right = Signal(range(width + 2), name="right")
        m.d.comb += right.eq(Mux(shift > width + 1, width + 1, Mux(shift > 0, shift, 0)))
        left = Signal(range(32), name="left")
        m.d.comb += left.eq(Mux(shift < 0, -shift, 0))
        wide = Signal(width + 2, name="wide")
        m.d.comb += wide.eq(Cat(Const(0, 2), prod))              # two extra bits below the LSB
        shifted = Signal(width + 2, name="shifted")
        m.d.comb += shifted.eq(wide >> right)
        # Kept bits q = prod >> right (or prod << left); guard = prod bit right-1 = shifted[1];
        # sticky = prod bits below right-1 = wide bits 0 .. right.
        q = Signal(26, name="q")
        sticky = Signal(name="sticky")
        rounded = Signal(26, name="rounded")
        m.d.comb += [
            q.eq((shifted[2:] << left)[:26]),
            sticky.eq((wide & ((Const(1, width + 4) << (right + 1)) - 1)[:width + 2]) != 0),
            rounded.eq(q + (shifted[1] & (sticky | q[0]))),
        ]
        final_q = Signal(25, name="final_q")
        final_exp = Signal(signed(12), name="final_exp")
        with m.If(rounded[24]):
            m.d.comb += [final_q.eq(rounded >> 1), final_exp.eq(qexp + 1)]
        with m.Else():
            m.d.comb += [final_q.eq(rounded), final_exp.eq(qexp)]
        result = Signal(32, name="result")
        biased = final_exp + 150
        with m.If(nan):
            m.d.comb += result.eq(FP32_QNAN)
        with m.Elif(prod == 0):
            m.d.comb += result.eq(0)
        with m.Elif(~final_q[23]):                                # subnormal
            m.d.comb += result.eq(Cat(final_q[:23], Const(0, 8), sign))
        with m.Elif(biased >= 0xFF):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), sign))
        with m.Else():
            m.d.comb += result.eq(Cat(final_q[:23], biased[:8], sign))
        return result
