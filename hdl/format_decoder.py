"""Combinational decoder: small-float codes to :class:`~hdl.float_unpacked.UnpackedFloat`."""

from amaranth.hdl import Const, Module, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .float_unpacked import SIG_WIDTH, UnpackedFloat
from .small_float import small_float

__all__ = ["FormatDecoder"]


class FormatDecoder(wiring.Component):
    """Decode ``lanes`` codes of one format per cycle (no state, no latency).

    Parameters
    ----------
    fmt : {"e2m1", "e4m3", "e5m2"}
    lanes : int
        Codes decoded in parallel.

    Members
    -------
    codes : In(ArrayLayout(unsigned(width), lanes))
    values : Out(ArrayLayout(UnpackedFloat, lanes))

    Raises
    ------
    ValueError
        Unknown format or ``lanes`` < 1.
    """

    def __init__(self, fmt: str, lanes: int = 1):
        self.spec = small_float(fmt)
        if not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be a positive integer, got {lanes!r}")
        self.lanes = lanes
        super().__init__({
            "codes": In(data.ArrayLayout(unsigned(self.spec.width), lanes)),
            "values": Out(data.ArrayLayout(UnpackedFloat, lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        spec = self.spec
        for lane in range(self.lanes):
            self._decode_lane(m, self.codes[lane], self.values[lane], spec)
        return m

    @staticmethod
    def _decode_lane(m, code, out, spec):
        mant = code[:spec.mbits]
        exp_field = code[spec.mbits:spec.magnitude_bits]
        magnitude = code[:spec.magnitude_bits]
        all_ones = (1 << spec.ebits) - 1
        if spec.nan_code is not None and spec.inf_code is None:          # E4M3: one NaN pattern
            is_nan = magnitude == spec.nan_code
            is_inf = Const(0, 1)
        elif spec.inf_code is not None:                                   # E5M2: IEEE-like
            is_nan = (exp_field == all_ones) & (mant != 0)
            is_inf = (exp_field == all_ones) & (mant == 0)
        else:                                                             # E2M1: all finite
            is_nan = is_inf = Const(0, 1)
        # Every field is driven in every case (4-state simulators see no X).
        m.d.comb += [out.sign.eq(code[-1]), out.nan.eq(is_nan), out.inf.eq(is_inf),
                     out.zero.eq(magnitude == 0)]
        with m.If(is_nan | is_inf | (magnitude == 0)):
            m.d.comb += [out.exp.eq(0), out.sig.eq(0)]
        with m.Elif(exp_field == 0):
            # Subnormal: normalise on the leading one of the mantissa field.
            for pos in range(spec.mbits):                                 # the last match wins
                with m.If(mant[pos]):
                    m.d.comb += [
                        out.exp.eq(1 - spec.bias - spec.mbits + pos),
                        out.sig.eq(mant << (SIG_WIDTH - 1 - pos)),
                    ]
        with m.Else():
            m.d.comb += [
                out.exp.eq(exp_field - spec.bias),
                out.sig.eq((mant | (1 << spec.mbits)) << (SIG_WIDTH - 1 - spec.mbits)),
            ]
