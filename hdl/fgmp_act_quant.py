"""FGMP activation quantization unit: per block of 16, choose NVFP4 or FP8 on the fly.

Bit-exact with :func:`golden.fgmp.quantize_activations`; the arithmetic is
``docs/numerics.md`` section 4.2. A free-running pipeline, one block per cycle:

1. accept: the block; in the next cycle its copy of the configuration and the read of its
   sensitivity row (both as they were in the acceptance cycle);
2. a rounding key of each ``y = x * 2**-t`` (exponent, 8 significant bits, sticky —
   :mod:`hdl.rounding_key`); no multiplier, the tensor scale is a power of two;
3. FP8 codes ``rne(y, E4M3)`` and the block flags (exponent class, rounding decision,
   increment: three stages); the block max (a tree over the raw magnitudes, one level per
   stage); ``s_b = max(rne(amax / 6, E4M3), 2**-9)`` (a divide-by-3 table, then the rounding);
4. E2M1 codes of ``y / s_b`` by comparing ``|y|`` with the 7 thresholds ``s_b * midpoint``
   (their significands are those of 4, from a table of the scale's significand), then
   counting the thresholds passed (three stages);
5. the narrow score (:class:`hdl.fgmp_act_score.ActScore`), in floating form, compared with
   the block's threshold register (its bit length and 14 leading bits, ``docs/numerics.md``
   4.2 step 7);
6. the result queue (:class:`hdl.credit_queue.CreditQueue`, in block RAM), which alone sees
   ``o.ready``.

Output blocks use the VMAC's operand layout (``hdl.fgmp_layout.block_layout("mixed")``).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.facts import (SCALE_EXP_MAX, SCALE_EXP_MIN, STATUS_INF, STATUS_NAN, STATUS_OVERFLOW,
                          STATUS_WRITE_REFUSED, THRESHOLD_REGISTER, ScoreWidths)

from .block_ram import BLOCK_RAM_TARGETS, BlockRam
from .credit_queue import CreditQueue
from .fgmp_act_score import ActScore
from .fgmp_layout import BLOCK, block_layout
from .pipeline import delay, reg, valid_reg
from .const_compare import below
from .rounding_key import (E4M3_EXPONENT, E4M3_PARTS, EXP_WIDTH, RoundingKey, e4m3_exponent, e4m3_from_parts,
                           e4m3_parts, key_div3_table, key_div6,
                           key_from_product)
from .small_float import e4m3_mantissa_shift

__all__ = ["INPUT_FORMATS", "THRESHOLD_LAYOUT", "FGMPActQuant"]

THRESHOLD_LAYOUT = data.StructLayout({"lead": THRESHOLD_REGISTER["lead"][1], "length": THRESHOLD_REGISTER["length"][1],
                                      "negative": THRESHOLD_REGISTER["negative"][1]})
"""The threshold register (``docs/numerics.md`` 4.2 step 7; :func:`golden.fgmp.threshold_register`)."""
assert all(THRESHOLD_LAYOUT[name].offset == low for name, (low, _) in THRESHOLD_REGISTER.items())

INPUT_FORMATS = {"bf16": (8, 7), "fp16": (5, 10), "fp32": (8, 23)}
# The 7 E2M1 thresholds s_b * (1, 3, 5, 7, 10, 14, 20) / 4, the midpoints between the magnitudes
# 0, 0.5, 1, 1.5, 2, 3, 4, 6: the odd factors 1, 3, 5, 7 times 2**shift, as (odd factor's index, shift).
# Only 4 significands to compare with; a tie goes to the even code, up at the odd indices.
_E2M1_ODD_MIDPOINTS_X4 = (1, 3, 5, 7)
_E2M1_THRESHOLDS = ((0, 0), (1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (2, 2))
_FRONT_STAGES = 17                                    # accept ... the score's inputs (the stages below)


class FGMPActQuant(wiring.Component):
    """Quantize one block of 16 activations per cycle to NVFP4 or FP8.

    Parameters
    ----------
    input_format : {"bf16", "fp16", "fp32"}
    max_channels : int
        Channels per sensitivity bank: 16 times a power of two, so every ``block`` index is
        a valid address. The memory (two banks) keeps its contents across reset.
    widths : golden.facts.ScoreWidths
        The score's narrowing (``docs/numerics.md`` 4.2); the default is the specified unit.
    bram : {"inferred", "ecp5"}
        The sensitivity memory (:class:`hdl.block_ram.BlockRam`): inferred, or ECP5 DP16KD blocks
        with their output registers (``max_channels`` at most 4096); the same cycles either way.

    Members
    -------
    i : In(stream.Signature({"values": 16 x input format, "block": channel block index}))
    o : Out(stream.Signature(block_layout("mixed")))
        ``fp8`` mode bit, 16 codes (E4M3, or E2M1 in the low nibble), E4M3 block scale
        (0 for FP8 blocks).
    cfg_scale_exp : In(signed(8)), cfg_threshold : In(THRESHOLD_LAYOUT), cfg_bank : In(1), cfg_we : In(1)
        Configuration write: ``s_t = 2**cfg_scale_exp``, the score threshold in its register
        form (:func:`golden.fgmp.threshold_register`; negative: every block FP8) and the active
        sensitivity bank, registered together when ``cfg_we`` is high. Any 21-bit value is a
        register: the decision is the rule of ``docs/numerics.md`` 4.2 step 7 on its fields
        (``golden.fgmp.score_above_register``), also for values the encoder would not produce.
        A block accepted in the cycle of the write or before uses the old configuration, a
        later one the new; every block carries its own copy through the pipeline.
    sens_bank, sens_addr, sens_data, sens_we : In
        Write port of the sensitivity memory: 16 8-bit codes per row. A write to the
        inactive bank always proceeds; a write to the active bank only while the unit is
        idle (no block in flight, ``i.valid`` low), otherwise it is refused (nothing is
        written) and status bit 8 is set. A block sees exactly the writes made before its
        acceptance cycle (a write lands one cycle after it is made, and a reset does not drop
        it).
    status : Out(4)
        Sticky: 1 NaN seen, 2 Inf seen, 4 a finite ``|y| > 448`` (FP8 saturation), ORed in
        as blocks leave; 8 a refused sensitivity write. ``status_clear`` clears it.

    Attributes
    ----------
    latency : int
        Cycles from a block's acceptance to its ``o.valid`` with ``o.ready`` high.
    queue_depth : int
        Blocks accepted but not delivered, at most (``i.ready`` falls at that count).

    Reset drops every block in flight and sets ``scale_exp = 0``, ``threshold = -1``, bank 0.

    Raises
    ------
    ValueError
        Unknown input format, ``max_channels`` not 16 times a power of two, ``widths`` not a
        ``ScoreWidths``, an unknown ``bram``, ``max_channels`` above 4096 with ``bram="ecp5"``.
    """

    def __init__(self, input_format: str = "bf16", max_channels: int = 4096, widths: ScoreWidths = ScoreWidths(),
                 bram: str = "inferred"):
        if input_format not in INPUT_FORMATS:
            raise ValueError(f"input_format must be one of {sorted(INPUT_FORMATS)}, got {input_format!r}")
        if isinstance(max_channels, bool) or not isinstance(max_channels, int) or max_channels < BLOCK \
                or max_channels % BLOCK or (max_channels // BLOCK) & (max_channels // BLOCK - 1):
            raise ValueError(f"max_channels must be {BLOCK} times a power of two (so every block index "
                             f"addresses the sensitivity memory), got {max_channels!r}")
        if not isinstance(widths, ScoreWidths):
            raise ValueError(f"widths must be a golden.facts.ScoreWidths, got {widths!r}")
        if bram not in BLOCK_RAM_TARGETS:
            raise ValueError(f"bram must be one of {BLOCK_RAM_TARGETS}, got {bram!r}")
        if bram == "ecp5" and max_channels > 4096:
            raise ValueError(f"max_channels must be at most 4096 with bram='ecp5' (two banks in one "
                             f"512-word DP16KD), got {max_channels!r}")
        self.input_format = input_format
        self.ebits, self.mbits = INPUT_FORMATS[input_format]
        self.depth = max_channels // BLOCK
        self.widths = widths
        self._score = ActScore(widths)
        self._sens = BlockRam(8 * BLOCK, 2 * self.depth, bram)
        self._bram = bram
        self._pipeline = _FRONT_STAGES + self._score.latency + 3     # accept ... the decision register
        self.latency = self._pipeline + 1 + CreditQueue.latency       # output register + the queue
        self.queue_depth = self.latency + 2
        width = 1 + self.ebits + self.mbits
        index = unsigned(max(1, (self.depth - 1).bit_length()))
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "values": data.ArrayLayout(unsigned(width), BLOCK), "block": index}))),
            "o": Out(stream.Signature(block_layout("mixed"))),
            "cfg_scale_exp": In(signed(8)),
            "cfg_threshold": In(THRESHOLD_LAYOUT),
            "cfg_bank": In(1),
            "cfg_we": In(1),
            "sens_bank": In(1),
            "sens_addr": In(index),
            "sens_data": In(data.ArrayLayout(unsigned(8), BLOCK)),
            "sens_we": In(1),
            "status": Out(4),
            "status_clear": In(1),
        })
        assert -128 <= SCALE_EXP_MIN and SCALE_EXP_MAX == 127          # the register is signed(8)

    def _input_key(self, m, x, t, name):
        """Key of ``y = x * 2**-t`` for one input element.

        BF16 and FP32 subnormals (below ``2**-126``) give ``|y| < 2**-26`` for every allowed
        ``t`` and quantize as signed zeros, so those formats need no normalisation; FP16's
        subnormals are normalised (a leading-one search).
        """
        e_field, frac = x[self.mbits:self.mbits + self.ebits], x[:self.mbits]
        bias = (1 << (self.ebits - 1)) - 1
        all_ones = (1 << self.ebits) - 1
        out = Signal(RoundingKey, name=f"{name}_y")
        if self.ebits == 8:
            m.d.comb += [out.m8.eq(Cat(frac[self.mbits - 7:], 1)), out.sticky.eq(frac[:self.mbits - 7] != 0),
                         out.exp.eq(e_field - bias - t), out.zero.eq(e_field == 0)]
        else:
            exp = Signal(signed(11), name=f"{name}_xe")
            m.d.comb += exp.eq(Mux(e_field == 0, 1 - bias - self.mbits, e_field - bias - self.mbits) - t)
            m.d.comb += out.eq(key_from_product(m, Cat(frac, e_field != 0), exp, name))
        m.d.comb += [out.sign.eq(x[-1]),
                     out.inf.eq((e_field == all_ones) & (frac == 0)),
                     out.nan.eq((e_field == all_ones) & (frac != 0))]
        return out

    @staticmethod
    def _above_fp8_max(key):
        """A finite non-zero ``|y| > 448 = 224 * 2**(8 - 7)`` (constant comparisons only)."""
        at_max_binade = ~below(key.exp, 8) & below(key.exp, 9)
        over = ~below(key.exp, 9) | at_max_binade & (~below(key.m8, 225) | (key.m8 == 224) & key.sticky)
        return over & ~key.nan & ~key.inf & ~key.zero

    def elaborate(self, platform):
        m = Module()
        m.submodules.score = score = self._score
        m.submodules.queue = queue = CreditQueue(block_layout("mixed"), self.queue_depth, self._bram)
        wiring.connect(m, wiring.flipped(self.o), queue.o)
        accept = Signal()
        m.d.comb += [self.i.ready.eq(queue.ready), accept.eq(self.i.valid & queue.ready),
                     queue.accepted.eq(accept)]

        # Configuration registers, written together; a scale exponent below the range refuses the write.
        # The write is registered first (values, and whether it is taken), then applied: the registers
        # hold the configuration of cycle N from cycle N + 2, and a block accepted in cycle N samples
        # them in cycle N + 1 (stage 0), which is the configuration in force in its acceptance cycle.
        # The range check thus drives two flip-flops, not the clock enable of the 73 registers.
        scale_exp = Signal(signed(8))
        threshold = Signal(THRESHOLD_LAYOUT, init={"negative": 1})
        bank = Signal()
        cfg_exp_r = reg(m, "cfg_exp_r", signed(8), self.cfg_scale_exp)
        cfg_thr_r = reg(m, "cfg_thr_r", THRESHOLD_LAYOUT, self.cfg_threshold)
        cfg_bank_r = reg(m, "cfg_bank_r", 1, self.cfg_bank)
        cfg_low = below(self.cfg_scale_exp, SCALE_EXP_MIN)
        cfg_take = valid_reg(m, "cfg_take", self.cfg_we & ~cfg_low)
        cfg_refused = Signal()                       # flagged in the status at once (one flip-flop)
        m.d.comb += cfg_refused.eq(self.cfg_we & cfg_low)
        with m.If(cfg_take):
            m.d.sync += [scale_exp.eq(cfg_exp_r), threshold.eq(cfg_thr_r), bank.eq(cfg_bank_r)]
        active_bank = Signal()                       # the bank in force this cycle
        m.d.comb += active_bank.eq(Mux(cfg_take, cfg_bank_r, bank))

        # Sensitivity memory: two banks; the row is read in stage 0, from the bank the block was
        # accepted under (a write to that bank in the acceptance cycle was refused: it was active).
        m.submodules.sens = sens = self._sens
        in_flight = Signal()                         # some pipeline stage holds a block this cycle
        sens_refused, refused = Signal(), Signal()
        # A sensitivity write is decided in its cycle and lands in the memory one cycle later, from
        # registers (the block RAMs' write enables come from a flip-flop). The write-enable register
        # is reset-less: a write that was not refused lands even if a reset follows. A block accepted
        # after the write's cycle reads its row two cycles after the write at the earliest, so it
        # sees the write; one accepted in or before that cycle reads a bank the write cannot reach
        # (refused: active), or reads before the write lands.
        w_en = reg(m, "sens_w_en", 1, self.sens_we & ~sens_refused)
        w_addr = reg(m, "sens_w_addr", len(sens.w_addr), Cat(self.sens_addr, self.sens_bank))
        w_data = reg(m, "sens_w_data", len(sens.w_data), self.sens_data)
        v = []

        def stage(name):
            v.append(valid_reg(m, f"v{len(v)}_{name}", v[-1] if v else accept))

        # S0: the block; its configuration is the registers' contents in this cycle.
        stage("accept")
        values = reg(m, "values0", self.i.payload.values.shape(), self.i.payload.values)
        block0 = reg(m, "block0", self.i.payload.block.shape(), self.i.payload.block)
        t0, thr0 = scale_exp, threshold
        m.d.comb += [
            sens_refused.eq(self.sens_we & (self.sens_bank == active_bank) & (in_flight | self.i.valid)),
            refused.eq(cfg_refused | sens_refused),
            sens.w_addr.eq(w_addr), sens.w_data.eq(w_data), sens.w_en.eq(w_en),
            sens.r_addr.eq(Cat(block0, bank)),
        ]

        # S1: keys of y; magnitudes as raw bits for the block max; the sensitivity row. A NaN enters
        # the max as it is: it makes its block FP8, whose output takes nothing from s_b.
        stage("keys")
        keys = [reg(m, f"key1_{c}", RoundingKey, self._input_key(m, values[c], t0, f"y{c}")) for c in range(BLOCK)]
        raw_width = self.ebits + self.mbits
        raws = [values[c][:raw_width] for c in range(BLOCK)]
        def max_level(items, name):
            out = []
            for j in range(0, len(items), 2):
                k = Signal(raw_width, name=f"{name}_{j // 2}")
                m.d.comb += k.eq(Mux(items[j + 1] > items[j], items[j + 1], items[j]))
                out.append(k)
            return out

        # The block max, one level of the tree per stage (S1 ... S4).
        level = [reg(m, f"amax1_{j}", raw_width, r) for j, r in enumerate(max_level(raws, "max1"))]
        t1 = reg(m, "t1", signed(8), t0)
        sens_row = data.ArrayLayout(unsigned(8), BLOCK)(sens.r_data)     # stage 2: two cycles after the address

        # S2: the FP8 codes' exponent classes, each element's flags; S3: the codes' rounding decided,
        # the block's flags; S4: the codes. The block max, one level of its tree per stage.
        stage("codes8")
        exps8 = [reg(m, f"x8_{c}", E4M3_EXPONENT, e4m3_exponent(m, k, f"e8_{c}")) for c, k in enumerate(keys)]
        elem_flags = [reg(m, f"fl2_{c}", 3, Cat(k.nan, k.inf, self._above_fp8_max(k))) for c, k in enumerate(keys)]
        nan_elems = reg(m, "nan2", BLOCK, Cat(*[k.nan for k in keys]))
        level = [reg(m, f"amax2_{j}", raw_width, r) for j, r in enumerate(max_level(level, "max2"))]
        keys = [reg(m, f"key2_{c}", RoundingKey, k) for c, k in enumerate(keys)]
        t2 = reg(m, "t2", signed(8), t1)
        stage("codes8_decide")
        parts8 = [reg(m, f"p8_{c}", E4M3_PARTS, e4m3_parts(m, k, x, f"e8_{c}")) for c, (k, x) in enumerate(zip(keys, exps8))]
        flags = reg(m, "flags3", 3, Cat(*[Cat(*[f[j] for f in elem_flags]).any() for j in range(3)]))
        level = [reg(m, f"amax3_{j}", raw_width, r) for j, r in enumerate(max_level(level, "max3"))]
        t3 = reg(m, "t3", signed(8), t2)
        stage("amax")
        amax_raw = reg(m, "amax4", raw_width, max_level(level, "max4")[0])
        codes8 = [reg(m, f"c8_{c}", 8, e4m3_from_parts(m, p8, f"e8_{c}")) for c, p8 in enumerate(parts8)]
        t3 = reg(m, "t4", signed(8), t3)

        # S4: the key of amax. S5 ... S7: rne(amax / 6) as E4M3 (table, normalisation, rounding), the 2**-9 floor.
        stage("amax_key")
        amax = reg(m, "amax5", RoundingKey, self._input_key(m, Cat(amax_raw, 0), t3, "amax"))
        stage("div3")
        q3, r3 = key_div3_table(m, amax, "sb")
        q3, r3, amax5 = reg(m, "q3_6", 7, q3), reg(m, "r3_6", 2, r3), reg(m, "amax6", RoundingKey, amax)
        stage("div6")
        sixth = reg(m, "sixth6", RoundingKey, key_div6(m, amax5, q3, r3, "sb"))
        stage("scale_exponent")
        sixth_exp = reg(m, "sixth_x7", E4M3_EXPONENT, e4m3_exponent(m, sixth, "sb_enc"))
        sixth = reg(m, "sixth7", RoundingKey, sixth)
        stage("scale_round")
        sixth_parts = reg(m, "sixth_p8", E4M3_PARTS, e4m3_parts(m, sixth, sixth_exp, "sb_enc"))
        stage("scale")
        scale7 = reg(m, "scale8", 8, e4m3_from_parts(m, sixth_parts, "sb_enc", least=1)[:7])

        # The thresholds s_b * (1, 3, 5, 7) / 4 as keys: each product of the scale's 4-bit significand
        # with an odd factor, normalised, comes from a table of that significand (one LUT per bit);
        # then the exponents. Next, their exponents relative to the first, the 7 thresholds' from them.
        stage("products")
        mb, shb = e4m3_mantissa_shift(scale7)
        t_norms, t_tops = [], []
        for i, mid in enumerate(_E2M1_ODD_MIDPOINTS_X4):
            norm, top = Signal(7, name=f"tnorm{i}"), Signal(3, name=f"ttop{i}")
            with m.Switch(mb):
                for significand in range(16):
                    product = significand * mid                       # below 2**7
                    lead = max(product.bit_length() - 1, 0)
                    with m.Case(significand):
                        m.d.comb += [norm.eq(product << (6 - lead)), top.eq(lead)]
            t_norms.append(reg(m, f"tn8_{i}", 7, norm))
            t_tops.append(reg(m, f"tt8_{i}", 3, top))
        t_zero = reg(m, "tz8", 1, mb == 0)
        t_shift = reg(m, "tsh8", signed(6), shb - 9 - 2)
        scale8 = reg(m, "scale8", 8, scale7)
        stage("thresholds")
        thresholds = []
        for i, (norm, top) in enumerate(zip(t_norms, t_tops)):
            key = Signal(RoundingKey, name=f"t{i}")
            m.d.comb += [key.m8.eq(Cat(Const(0, 1), norm)), key.exp.eq(top + t_shift), key.zero.eq(t_zero)]
            thresholds.append(reg(m, f"t9_{i}", RoundingKey, key))
        scale9 = reg(m, "scale9_t", 8, scale8)
        keys7 = [delay(m, k, 10, f"key{c}") for c, k in enumerate(keys)]     # stage 2 -> 12
        stage("relative")
        # Exponents relative to s_b / 4 (the first threshold): the thresholds lie at 0 ... 5; an element
        # below 0 is below all of them, above 5 above all. Within 0 ... 5 a threshold is below the element
        # if its relative exponent is smaller, or equal with a smaller (or, at odd indices, equal)
        # significand. Significands: 8 bits with the leading one (dropped here: every non-zero key and
        # every threshold has it); an element's sticky bit only breaks an equality.
        e_ref = thresholds[0].exp
        t_exp = [reg(m, f"tx10_{j}", 3, (thresholds[i].exp - e_ref + shift)[:3])
                 for j, (i, shift) in enumerate(_E2M1_THRESHOLDS)]
        t_sig = [reg(m, f"tm10_{i}", 7, t.m8[:7]) for i, t in enumerate(thresholds)]
        rel_y = []
        for c, key in enumerate(keys7):
            # The difference is registered; its range flags are formed in the next stage, beside
            # the significand comparisons.
            delta = reg(m, f"delta10_{c}", signed(EXP_WIDTH + 1), key.exp - e_ref)
            rel_y.append((delta, reg(m, f"ym10_{c}", 7, key.m8[:7]), reg(m, f"ys10_{c}", 1, key.sticky),
                          reg(m, f"yinf10_{c}", 1, key.inf)))
        zero_sign_nan = [reg(m, f"zsn10_{c}", 3, Cat(k.zero, k.sign, k.nan)) for c, k in enumerate(keys7)]
        scale10 = reg(m, "scale10", 8, scale9)

        # Which of the 7 thresholds each element is above: the 4 significand comparisons and the
        # element's relative exponent (one stage), then each threshold's verdict (the next).
        stage("compare_sig")
        sig_r, y_exp_r, flags_c = [], [], []
        for c, ((delta, y_sig, y_sticky, y_inf), zsn) in enumerate(zip(rel_y, zero_sign_nan)):
            y_exp = delta[:3]
            none_all = Cat(below(delta, 0) & ~y_inf, y_inf | ~below(delta, 6))
            sig_above = [(y_sig >= ts) if i % 2 else (Cat(y_sticky, y_sig) > Cat(Const(0, 1), ts))
                         for i, ts in enumerate(t_sig)]
            sig_r.append(reg(m, f"sig11_{c}", len(sig_above), Cat(*sig_above)))
            y_exp_r.append(reg(m, f"yx11_{c}", 3, y_exp))
            flags_c.append(reg(m, f"flags11_{c}", 5, Cat(none_all, zsn)))
        t_exp = [reg(m, f"tx11_{j}", 3, te) for j, te in enumerate(t_exp)]
        scale11 = reg(m, "scale11", 8, scale10)
        stage("compare")
        above_r, flags11 = [], []
        for c, (sig_above, y_exp, fl) in enumerate(zip(sig_r, y_exp_r, flags_c)):
            above = [(y_exp > te) | (y_exp == te) & sig_above[i]
                     for (i, _), te in zip(_E2M1_THRESHOLDS, t_exp)]
            above_r.append(reg(m, f"above12_{c}", len(above), Cat(*above)))
            flags11.append(reg(m, f"flags12_{c}", 5, fl))
        scale11 = reg(m, "scale12_c", 8, scale11)

        # S12: E2M1 codes; the thresholds passed are a thermometer code, their count the magnitude.
        stage("codes4")
        codes4 = []
        for c, (a, fl) in enumerate(zip(above_r, flags11)):
            none, all_, zero, sign, nan = fl[0], fl[1], fl[2], fl[3], fl[4]
            count = Cat(a[0] & ~a[1] | a[2] & ~a[3] | a[4] & ~a[5] | a[6], a[1] & ~a[3] | a[5], a[3])
            mag4 = Signal(3, name=f"e4_{c}")
            m.d.comb += mag4.eq(Mux(all_, 7, Mux(none, 0, count)))
            codes4.append(reg(m, f"c4_{c}", 4, Mux(nan, 0, Cat(Mux(zero, 0, mag4), sign))))
        scale12 = reg(m, "scale12", 8, scale11)
        front = _FRONT_STAGES - 1                     # codes4 and scale12 belong to this stage
        codes8_9 = [delay(m, c8, front - 4, f"c8_{c}") for c, c8 in enumerate(codes8)]   # stage 4 -> front
        nan9 = delay(m, nan_elems, front - 2, "nan")
        sens9 = delay(m, sens_row, front - 2, "sens")
        stage("score_in")                             # the score's inputs registered
        m.d.sync += [score.scale.eq(scale12)] + [score.sens[c].eq(sens9[c]) for c in range(BLOCK)]
        for c in range(BLOCK):
            m.d.sync += [score.codes4[c].eq(codes4[c]), score.codes8[c].eq(Mux(nan9[c], 0, codes8_9[c]))]
        assert len(v) - 1 == _FRONT_STAGES

        # The score; the decision and the output block, one register after it.
        wait = 1 + score.latency                      # from stage 9 to the score
        for _ in range(score.latency):
            stage("score")
        thr_s = delay(m, thr0, front + wait, "thr")
        flags_s = delay(m, flags, front + wait - 3, "flags")
        # score > threshold in floating form (docs/numerics.md 4.2 step 7): the lengths and the
        # leading bits compared, then combined; the decision is registered before it selects the
        # 137 output bits.
        thr_neg = reg(m, "thr_neg", 1, thr_s.negative)
        len_gt = reg(m, "score_len_gt", 1, score.score.length > thr_s.length)
        len_eq = reg(m, "score_len_eq", 1, score.score.length == thr_s.length)
        lead_gt = reg(m, "score_lead_gt", 1, score.score.lead > thr_s.lead)
        flags_s = reg(m, "flags_cmp", 3, flags_s)
        stage("threshold")
        fp8 = reg(m, "fp8_decision", 1, thr_neg | len_gt | len_eq & lead_gt | flags_s[0])
        stage("decision")
        codes8_s = [delay(m, c, wait + 2, f"c8s_{j}") for j, c in enumerate(codes8_9)]
        codes4_s = [delay(m, c, wait + 2, f"c4s_{j}") for j, c in enumerate(codes4)]
        scale_s = delay(m, scale12, wait + 2, "scale_s")
        flags_s = reg(m, "flags_dec", 3, flags_s)
        out = Signal(block_layout("mixed"))
        m.d.comb += [out.fp8.eq(fp8), out.scale.eq(Mux(fp8, 0, scale_s))]
        for c in range(BLOCK):
            m.d.comb += out.codes[c].eq(Mux(fp8, codes8_s[c], codes4_s[c]))
        v_out = valid_reg(m, "v_out", v[-1])
        m.d.comb += [queue.w_valid.eq(v_out), queue.w_data.eq(reg(m, "out", block_layout("mixed"), out))]
        flags_out = reg(m, "flags_out", 3, flags_s)
        assert len(v) == self._pipeline

        # Busy: the OR of the stage valid bits, registered from their previous values.
        m.d.sync += in_flight.eq(accept | Cat(*v).any())

        # A clear and a new bit in the same cycle: the new bit stays (nothing is lost).
        m.d.sync += self.status.eq(Mux(self.status_clear, 0, self.status) | Mux(v_out, flags_out, 0)
                                   | Mux(refused, STATUS_WRITE_REFUSED, 0))
        return m
