"""FGMP activation quantization unit: per block of 16, choose NVFP4 or FP8 on the fly.

Bit-exact with :func:`golden.fgmp.quantize_activations`; the arithmetic is
``docs/numerics.md`` section 4.2. Per block and cycle:

1. ``y = x * r`` exactly (``r`` = FP32 reciprocal of the tensor scale), kept as
   a rounding key (exponent, 8 significant bits, sticky) — see :mod:`hdl.rounding_key`.
2. FP8 codes ``rne(y, E4M3)``; the block max; ``s_b = max(rne(amax / 6, E4M3), 2**-9)``.
3. E2M1 codes of ``y / s_b`` by comparing ``|y|`` with the 7 midpoints times ``s_b``.
4. ``score = sum code_c * (2**10 * (s_b * e2m1 - e4m3))**2`` with 8-bit channel
   sensitivities from on-chip memory; FP8 iff ``score > threshold`` or a NaN is present.

Output blocks use the VMAC's operand layout (``hdl.fgmp_layout.block_layout("mixed")``).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.facts import E4M3_MAX, STATUS_BAD_INV_SCALE, STATUS_INF, STATUS_NAN, STATUS_OVERFLOW

from .fgmp_layout import BLOCK, block_layout
from .fp32 import FP32
from .rounding_key import (RoundingKey, encode_key_e4m3, key_const, key_div6_e4m3, key_from_product,
                           key_from_small_int, key_magnitude_eq, key_magnitude_gt)
from .small_float import e2m1_mantissa_shift, e4m3_mantissa_shift

__all__ = ["INPUT_FORMATS", "FGMPActQuant"]

INPUT_FORMATS = {"bf16": (8, 7), "fp16": (5, 10), "fp32": (8, 23)}
_E2M1_MIDPOINTS_X4 = (1, 3, 5, 7, 10, 14, 20)        # midpoints between E2M1 magnitudes, times 4
_DIFF_BITS = 24                                       # |2**10 * (deq4 - deq8)| < 2**22
_SCORE_BITS = 57


class FGMPActQuant(wiring.Component):
    """Quantize one block of 16 activations per cycle to NVFP4 or FP8.

    Parameters
    ----------
    input_format : {"bf16", "fp16", "fp32"}
    max_channels : int
        Capacity of the channel-sensitivity memory: 16 times a power of two, so every
        ``block`` index is a valid address. The memory keeps its contents across reset.

    Members
    -------
    i : In(stream.Signature({"values": 16 x input format, "block": channel block index}))
    o : Out(stream.Signature(block_layout("mixed")))
        ``fp8`` mode bit, 16 codes (E4M3, or E2M1 in the low nibble), E4M3
        block scale (0 for FP8 blocks).
    inv_scale : In(32)
        FP32 ``fp32(1 / s_t)`` (configuration), a positive finite non-zero value. Blocks
        quantized under any other pattern (zero, negative, infinite, NaN) are meaningless and
        set status bit 8.
    threshold : In(signed(64))
        Score threshold (configuration); -1 makes every block FP8.
    sens_addr, sens_data, sens_we : In
        Write port of the sensitivity memory: 16 8-bit codes per channel block. Write only
        while no block is in flight; a write racing a read of the same row is not defined.
    status : Out(4)
        Sticky OR of the block status bits: 1 NaN seen, 2 Inf seen, 4 a finite
        ``|y| > 448`` (FP8 saturation); and 8 a block left while ``inv_scale`` was not a
        positive finite non-zero FP32. ``status_clear`` clears it.

    Raises
    ------
    ValueError
        Unknown input format, or ``max_channels`` not 16 times a power of two.
    """

    def __init__(self, input_format: str = "bf16", max_channels: int = 4096):
        if input_format not in INPUT_FORMATS:
            raise ValueError(f"input_format must be one of {sorted(INPUT_FORMATS)}, got {input_format!r}")
        if isinstance(max_channels, bool) or not isinstance(max_channels, int) or max_channels < BLOCK \
                or max_channels % BLOCK or (max_channels // BLOCK) & (max_channels // BLOCK - 1):
            raise ValueError(f"max_channels must be {BLOCK} times a power of two (so every block index "
                             f"addresses the sensitivity memory), got {max_channels!r}")
        self.input_format = input_format
        self.ebits, self.mbits = INPUT_FORMATS[input_format]
        self.depth = max_channels // BLOCK
        width = 1 + self.ebits + self.mbits
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "values": data.ArrayLayout(unsigned(width), BLOCK),
                "block": unsigned(max(1, (self.depth - 1).bit_length()))}))),
            "o": Out(stream.Signature(block_layout("mixed"))),
            "inv_scale": In(unsigned(32)),
            "threshold": In(signed(64)),
            "sens_addr": In(unsigned(max(1, (self.depth - 1).bit_length()))),
            "sens_data": In(data.ArrayLayout(unsigned(8), BLOCK)),
            "sens_we": In(1),
            "status": Out(4),
            "status_clear": In(1),
        })

    def _input_key(self, m, x, r_sig, r_exp, name):
        """Key of ``x * r`` for one input element (exact product, then reduced)."""
        e_field, frac = x[self.mbits:self.mbits + self.ebits], x[:self.mbits]
        bias = (1 << (self.ebits - 1)) - 1
        all_ones = (1 << self.ebits) - 1
        sig = Mux(e_field == 0, frac, Cat(frac, Const(1, 1)))
        exp = Signal(signed(11), name=f"{name}_xe")
        m.d.comb += exp.eq(Mux(e_field == 0, 1 - bias - self.mbits, e_field - bias - self.mbits))
        key = key_from_product(m, sig * r_sig, exp + r_exp, name)
        out = Signal(RoundingKey, name=f"{name}_y")
        m.d.comb += [out.eq(key), out.sign.eq(x[-1]),
                     out.inf.eq((e_field == all_ones) & (frac == 0)),
                     out.nan.eq((e_field == all_ones) & (frac != 0))]
        return out

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]

        m.submodules.sens = sens = Memory(shape=data.ArrayLayout(unsigned(8), BLOCK), depth=self.depth, init=[])
        wr = sens.write_port()
        rd = sens.read_port()
        m.d.comb += [wr.addr.eq(self.sens_addr), wr.data.eq(self.sens_data), wr.en.eq(self.sens_we),
                     rd.addr.eq(self.i.payload.block), rd.en.eq(advance)]

        # Reciprocal tensor scale as integer significand and exponent (configuration, registered).
        r_sig, r_exp = Signal(24), Signal(signed(10))
        inv_scale = FP32(self.inv_scale)
        m.d.sync += [r_sig.eq(inv_scale.significand()), r_exp.eq(inv_scale.lsb_exponent())]

        # S0: input register (the sensitivity row is read in the same cycle).
        v0 = Signal()
        values = Signal(data.ArrayLayout(self.i.payload.values.shape().elem_shape, BLOCK))
        with m.If(advance):
            m.d.sync += [v0.eq(self.i.valid), values.eq(self.i.payload.values)]

        # S1: keys of y = x * r, FP8 codes, block flags.
        v1 = Signal()
        keys = Signal(data.ArrayLayout(RoundingKey, BLOCK))
        codes8 = Signal(data.ArrayLayout(unsigned(8), BLOCK))
        sens1 = Signal(data.ArrayLayout(unsigned(8), BLOCK))
        status1 = Signal(3)
        fp8_max = key_const(E4M3_MAX)
        nan_any, inf_any, over_any = [], [], []
        for c in range(BLOCK):
            key = self._input_key(m, values[c], r_sig, r_exp, f"y{c}")
            code8 = encode_key_e4m3(m, key, f"e8_{c}")
            nan_any.append(key.nan)
            inf_any.append(key.inf)
            over_any.append(~key.nan & ~key.inf & key_magnitude_gt(key, fp8_max))
            with m.If(advance):
                m.d.sync += [keys[c].eq(key), codes8[c].eq(code8)]
        with m.If(advance):
            m.d.sync += [v1.eq(v0), sens1.eq(rd.data),
                         status1.eq(Mux(Cat(*nan_any).any(), STATUS_NAN, 0) | Mux(Cat(*inf_any).any(), STATUS_INF, 0)
                                    | Mux(Cat(*over_any).any(), STATUS_OVERFLOW, 0))]

        # S2: block max over non-NaN |y| and the block scale.
        v2 = Signal()
        keys2 = Signal.like(keys)
        codes8_2, sens2, status2 = Signal.like(codes8), Signal.like(sens1), Signal(3)
        scale2 = Signal(8)
        level = []
        for c in range(BLOCK):
            k = Signal(RoundingKey, name=f"amax_in{c}")
            m.d.comb += [k.eq(keys[c])]
            with m.If(keys[c].nan):
                m.d.comb += [k.zero.eq(1), k.inf.eq(0)]
            level.append(k)
        depth = 0
        while len(level) > 1:
            nxt = []
            for j in range(0, len(level), 2):
                k = Signal(RoundingKey, name=f"amax_{depth}_{j}")
                m.d.comb += k.eq(Mux(key_magnitude_gt(level[j + 1], level[j]), level[j + 1], level[j]))
                nxt.append(k)
            level, depth = nxt, depth + 1
        scale_code = key_div6_e4m3(m, level[0], "sb")
        with m.If(advance):
            m.d.sync += [v2.eq(v1), keys2.eq(keys), codes8_2.eq(codes8), sens2.eq(sens1), status2.eq(status1),
                         scale2.eq(Mux(scale_code[:7] == 0, 1, scale_code[:7]))]

        # S3: E2M1 codes by comparison with s_b * midpoints; element differences in units of 2**-10.
        v3 = Signal()
        diffs = Signal(data.ArrayLayout(signed(_DIFF_BITS), BLOCK))
        codes4_3, codes8_3, sens3, status3, scale3 = (Signal.like(codes8), Signal.like(codes8),
                                                      Signal.like(sens1), Signal(3), Signal(8))
        mb, shb = e4m3_mantissa_shift(scale2)
        thresholds = [key_from_small_int(m, mb * mid, shb - 9 - 2, f"t{j}")
                      for j, mid in enumerate(_E2M1_MIDPOINTS_X4)]
        for c in range(BLOCK):
            key = keys2[c]
            above = [key_magnitude_gt(key, t) for t in thresholds]
            ties_up = [key_magnitude_eq(key, t) if j % 2 else Const(0, 1) for j, t in enumerate(thresholds)]
            mag4 = Signal(3, name=f"e4_{c}")
            m.d.comb += mag4.eq(sum(a.as_unsigned() for a in above) + sum(t.as_unsigned() for t in ties_up))
            code4 = Signal(4, name=f"c4_{c}")
            m.d.comb += code4.eq(Mux(key.nan, 0, Cat(Mux(key.zero, 0, mag4), key.sign)))
            m4, sh4 = e2m1_mantissa_shift(code4)
            m8, sh8 = e4m3_mantissa_shift(codes8_2[c])
            fp4_units = Signal(signed(_DIFF_BITS), name=f"u4_{c}")
            fp8_units = Signal(signed(_DIFF_BITS), name=f"u8_{c}")
            m.d.comb += [
                fp4_units.eq(Mux(code4[3], -((m4 * mb) << (sh4 + shb)), (m4 * mb) << (sh4 + shb))),
                fp8_units.eq(Mux(key.nan, 0, Mux(codes8_2[c][7], -(m8 << (sh8 + 1)), m8 << (sh8 + 1)))),
            ]
            with m.If(advance):
                m.d.sync += [diffs[c].eq(fp4_units - fp8_units), codes4_3[c].eq(code4)]
        with m.If(advance):
            m.d.sync += [v3.eq(v2), codes8_3.eq(codes8_2), sens3.eq(sens2), status3.eq(status2),
                         scale3.eq(scale2)]

        # S4: weighted squares.
        v4 = Signal()
        terms = Signal(data.ArrayLayout(unsigned(_SCORE_BITS - 4), BLOCK))
        codes4_4, codes8_4, status4, scale4 = Signal.like(codes8), Signal.like(codes8), Signal(3), Signal(8)
        for c in range(BLOCK):
            d = diffs[c]
            mag = Mux(d < 0, -d, d).as_unsigned()
            with m.If(advance):
                m.d.sync += terms[c].eq(mag * mag * sens3[c])
        with m.If(advance):
            m.d.sync += [v4.eq(v3), codes4_4.eq(codes4_3), codes8_4.eq(codes8_3), status4.eq(status3),
                         scale4.eq(scale3)]

        # S5: score, decision, output register.
        score = Signal(_SCORE_BITS)
        m.d.comb += score.eq(sum(terms[c] for c in range(BLOCK)))
        fp8 = Signal()
        m.d.comb += fp8.eq((score.as_signed() > self.threshold) | ((status4 & STATUS_NAN) != 0))
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(v4), self.o.payload.fp8.eq(fp8),
                         self.o.payload.scale.eq(Mux(fp8, 0, scale4))]
            for c in range(BLOCK):
                m.d.sync += self.o.payload.codes[c].eq(Mux(fp8, codes8_4[c], codes4_4[c]))
        bad_inv_scale = Signal()
        m.d.comb += bad_inv_scale.eq(inv_scale.sign | inv_scale.is_special() | (self.inv_scale[:31] == 0))
        with m.If(self.status_clear):
            m.d.sync += self.status.eq(0)
        with m.Elif(advance & v4):
            m.d.sync += self.status.eq(self.status | status4 | Mux(bad_inv_scale, STATUS_BAD_INV_SCALE, 0))
        return m
