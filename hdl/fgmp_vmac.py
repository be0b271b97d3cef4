"""FGMP vector MAC: mixed NVFP4 / FP8 block dot products, exact accumulation, FP32 per row.

Numerics: :mod:`golden.fgmp_dot` and ``docs/numerics.md``, section *FGMP dot
product*. Each element is decoded to ``±m * 2**sh`` in units of ``2**-10``
(:mod:`hdl.fgmp_lane`), so a lane is a 6 x 6 multiplier and a shifter; block
sums and the row accumulator are exact integers; one round-to-nearest-even
turns the row into FP32 after multiplying by both tensor scales.

Pipeline (free-running: no stage ever stalls)::

    i ─▶ beat reg ─▶ block scales ─▶ decode ─▶ lane product (2) ─▶ sign ─▶ shift (2) ─▶ adder tree (log2 lanes)
      ─▶ row accumulator ─▶ |row| ─▶ × scale product (PipelinedMultiplier 64 x 48)
      ─▶ FP32 rounding (FP32Rounder) ─▶ result queue ─▶ o

Flow control by credits: ``i.ready`` is high while fewer than
:attr:`FGMPVmac.queue_depth` rows are accepted but not yet delivered on ``o``.
The result queue holds that many rows, so every row in flight has a place when
``o`` stalls, and nothing but the input handshake and the queue depends on
``o.ready``. (The alternative, one ``advance`` enable on every pipeline
register, is a net fanning out to thousands of flip-flops; at 150 MHz it would
be a critical path of its own.)
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.facts import ACC_BITS

from .fgmp_lane import M_BITS, SCALE_LAYOUT, SH_BITS, decode_scale, element_fields, product_rows
from .fgmp_layout import BLOCK, VARIANTS, beat_layout
from .fp32 import FP32
from .fp32_rounding import FP32Rounder
from .pipeline import delay, reg, valid_reg
from .pipelined_multiplier import DSP_TARGETS, PipelinedMultiplier, multiplier_latency

__all__ = ["FGMPVmac"]

_PRODUCT_BITS = 45          # |w * a| < 2**44 in units of 2**-20, plus sign
_SCALE_BITS = 48            # product of two 24-bit FP32 significands


class FGMPVmac(wiring.Component):
    """Dot products of FGMP block rows, one beat of ``blocks`` block pairs per cycle.

    Parameters
    ----------
    blocks : int
        Block pairs per beat (1, 2, ...). A row is a whole number of beats.
    variant : {"mixed", "fp8", "fp4"}
        ``"mixed"`` handles all four pairings by the mode bits; ``"fp8"`` and
        ``"fp4"`` build only one block kind (for measuring the cost of mixing).
    dsp : {"inferred", "ecp5"}
        How the wide scale products are built (:class:`hdl.pipelined_multiplier.PipelinedMultiplier`);
        the same cycle behaviour either way.

    Members
    -------
    i : In(stream.Signature(beat_layout(variant, blocks)))
        Block pairs; ``last`` marks the final beat of a row.
    o : Out(stream.Signature(unsigned(32)))
        One FP32 bit pattern per row, in row order: ``rne(acc * s_w * s_a * 2**-20)``;
        NaN is ``0x7FC00000`` (a NaN element or scale code in the row, or a
        non-finite tensor scale).
    w_scale, a_scale : In(unsigned(32))
        FP32 tensor scales (bit patterns). Configuration: change them only while
        no row is in flight; a row whose first beat is accepted after the change
        uses the new values.

    Attributes
    ----------
    latency : int
        Cycles from the acceptance of a row's last beat to its result on ``o``
        (``o.ready`` high, queue empty).
    queue_depth : int
        Rows accepted but not delivered, at most (``latency + 2``: enough that
        rows of one beat stream without a bubble).

    Raises
    ------
    ValueError
        ``blocks`` < 1, an unknown ``variant`` or ``dsp``.
    """

    def __init__(self, blocks: int = 1, variant: str = "mixed", dsp: str = "inferred"):
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
            raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if dsp not in DSP_TARGETS:
            raise ValueError(f"dsp must be one of {DSP_TARGETS}, got {dsp!r}")
        self.blocks, self.variant, self.dsp = blocks, variant, dsp
        self._tree_levels = (blocks * BLOCK - 1).bit_length()
        self._product_latency = multiplier_latency(ACC_BITS, _SCALE_BITS)
        # beat register, block scales, decode, product (2), sign, shift (2), tree, accumulator, |row|, multiplier,
        # rounder, then the queue (its write register, then two cycles through SyncFIFOBuffered).
        self.latency = 8 + self._tree_levels + 2 + self._product_latency + FP32Rounder.latency + 3
        self.queue_depth = self.latency + 2
        super().__init__({
            "i": In(stream.Signature(beat_layout(variant, blocks))),
            "o": Out(stream.Signature(unsigned(32))),
            "w_scale": In(unsigned(32)),
            "a_scale": In(unsigned(32)),
        })

    def elaborate(self, platform):
        m = Module()
        lanes = self.blocks * BLOCK

        # Credits: rows accepted and not yet delivered; i.ready is a register, its next value chosen
        # by comparisons of the count with constants (the count moves by at most one per cycle).
        outstanding = Signal(range(self.queue_depth + 1))
        ready = Signal(init=1)
        accepted_row = self.i.valid & ready & self.i.payload.last
        delivered_row = self.o.valid & self.o.ready
        m.d.sync += outstanding.eq(outstanding + accepted_row - delivered_row)
        with m.If(accepted_row & ~delivered_row):
            m.d.sync += ready.eq(outstanding < self.queue_depth - 1)
        with m.Elif(delivered_row & ~accepted_row):
            m.d.sync += ready.eq(1)
        m.d.comb += self.i.ready.eq(ready)

        # Stage 0: input register. Stage 1: the block scales decoded, once per block.
        v0 = valid_reg(m, "v0", self.i.valid & self.i.ready)
        beat0 = reg(m, "beat0", self.i.payload.shape(), self.i.payload)
        beat = reg(m, "beat", self.i.payload.shape(), beat0)
        scales = {side: [reg(m, f"{side}_scale{b}", SCALE_LAYOUT, decode_scale(getattr(beat0, side)[b].scale))
                         if self.variant != "fp8" else None for b in range(self.blocks)] for side in ("w", "a")}
        v0 = valid_reg(m, "v0b", v0)

        # Stage 1: element decode. 2, 3: lane product (AND rows summed in pairs, then the rest) and the
        # shift sum. 4: signed. 5, 6: shifted left by sh mod 8, then by the rest (multiples of 8).
        elem = data.StructLayout({"s": 1, "m": M_BITS, "sh": SH_BITS, "nan": 1})
        valid, last = v0, beat.last
        flags = []
        for k in range(1, 7):
            valid, last = valid_reg(m, f"v{k}", valid), reg(m, f"last{k}", 1, last)
            flags.append((valid, last))
        nans, terms = [], []
        for b in range(self.blocks):
            for lane in range(BLOCK):
                k = b * BLOCK + lane
                w, a = (reg(m, f"{side}{k}_dec", elem,
                                  Cat(*element_fields(m, self.variant, getattr(beat, side)[b], scales[side][b], lane,
                                                     f"{side}{k}")))
                        for side in ("w", "a"))
                nans += [w.nan, a.nan]
                rows = [reg(m, f"rows{k}_{j}", 2 * M_BITS, row) for j, row in enumerate(product_rows(w.m, a.m))]
                magnitude = reg(m, f"mag{k}", 2 * M_BITS, sum(rows))
                shift = delay(m, reg(m, f"sh{k}", SH_BITS + 1, w.sh + a.sh), 1, f"sh{k}")
                negative = delay(m, reg(m, f"neg{k}", 1, w.s ^ a.s), 1, f"neg{k}")
                signed_mag = reg(m, f"smag{k}", signed(2 * M_BITS + 1), Mux(negative, -magnitude, magnitude))
                shift4 = reg(m, f"sh{k}_4", SH_BITS + 1, shift)
                fine = reg(m, f"fine{k}", signed(2 * M_BITS + 8), signed_mag << shift4[:3])
                coarse = reg(m, f"coarse{k}", 3, shift4[3:])
                terms.append(reg(m, f"term{k}", signed(_PRODUCT_BITS),
                                       (fine << Cat(Const(0, 3), coarse))[:_PRODUCT_BITS].as_signed()))
        nan2 = reg(m, "nan2", 1, Cat(*nans).any())
        nan = delay(m, nan2, 4, "nan")
        valid, last = flags[-1]

        # Adder tree, one level per stage.
        for level in range(self._tree_levels):
            terms = [reg(m, f"sum{level}_{k // 2}", signed(len(terms[k]) + 1),
                               terms[k] + terms[k + 1] if k + 1 < len(terms) else terms[k])
                     for k in range(0, len(terms), 2)]
            valid = valid_reg(m, f"v_sum{level}", valid)
            last, nan = reg(m, f"last_sum{level}", 1, last), reg(m, f"nan_sum{level}", 1, nan)
        beat_sum = terms[0]

        # Row accumulator: a valid beat adds to it (to zero after a row's last beat).
        acc = Signal(signed(ACC_BITS), reset_less=True)
        acc_nan = Signal()
        fresh = Signal(init=1)
        row_valid = Signal()
        with m.If(valid):
            m.d.sync += [acc.eq(Mux(fresh, 0, acc) + beat_sum), acc_nan.eq(~fresh & acc_nan | nan),
                         fresh.eq(last)]
        m.d.sync += row_valid.eq(valid & last)

        # Tensor scales (static configuration): M = Mw * Ma, E = ew + ea - 20.
        parts = []
        for port in (self.w_scale, self.a_scale):
            held = FP32(reg(m, f"{port.name}_held", 32, port))
            mant = reg(m, f"{port.name}_mant", 24, held.significand())
            exp = reg(m, f"{port.name}_exp", signed(10), held.lsb_exponent())
            parts.append((mant, exp, reg(m, f"{port.name}_bad", 1, held.is_special()), held.sign))
        m.submodules.scale_product = scale_product = PipelinedMultiplier(24, 24, self.dsp)
        m.d.comb += [scale_product.a.eq(parts[0][0]), scale_product.b.eq(parts[1][0])]
        scale_e = reg(m, "scale_e", signed(11), parts[0][1] + parts[1][1] - 20)
        scale_bad = reg(m, "scale_bad", 1, parts[0][2] | parts[1][2])
        scale_sign = reg(m, "scale_sign", 1, parts[0][3] ^ parts[1][3])

        # |row|, then the exact product with the scales.
        row_mag = reg(m, "row_mag", ACC_BITS, Mux(acc < 0, -acc, acc))
        row_sign = reg(m, "row_sign", 1, (acc < 0) ^ scale_sign)
        row_nan = reg(m, "row_nan", 1, acc_nan | scale_bad)
        row_valid_b = valid_reg(m, "row_valid_b", row_valid)
        m.submodules.row_product = row_product = PipelinedMultiplier(ACC_BITS, _SCALE_BITS, self.dsp)
        m.d.comb += [row_product.a.eq(row_mag), row_product.b.eq(scale_product.p)]
        wait = row_product.latency

        # FP32 rounding, then the result queue.
        m.submodules.rounder = rounder = FP32Rounder(ACC_BITS + _SCALE_BITS)
        valid_p = row_valid_b
        for k in range(wait):
            valid_p = valid_reg(m, f"v_prod{k}", valid_p)
        m.d.comb += [rounder.i.valid.eq(valid_p), rounder.i.magnitude.eq(row_product.p),
                     rounder.i.exp.eq(scale_e), rounder.i.sign.eq(delay(m, row_sign, wait, "sign")),
                     rounder.i.nan.eq(delay(m, row_nan, wait, "rnan"))]
        m.submodules.queue = queue = fifo.SyncFIFOBuffered(width=32, depth=self.queue_depth)
        m.d.sync += [queue.w_en.eq(rounder.o_valid), queue.w_data.eq(rounder.o)]
        m.d.comb += [self.o.valid.eq(queue.r_rdy), self.o.payload.eq(queue.r_data), queue.r_en.eq(self.o.ready)]
        return m
