"""Test-only tops that gather several components into one build per configuration."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdl.format_decoder import FormatDecoder
from hdl.format_encoder import FormatEncoder

__all__ = ["CodecHarness"]


class CodecHarness(wiring.Component):
    """The decoder and the encoders (saturating and, where the format allows, not) of one format.

    Members
    -------
    codes, values : the decoder's ports.
    fp32 : In, shared by the encoders.
    sat_codes, sat_invalid : the saturating encoder's outputs.
    ovf_codes : the non-saturating encoder's codes (E4M3 / E5M2 only).
    """

    def __init__(self, fmt: str, lanes: int = 16):
        self._decoder = FormatDecoder(fmt, lanes)
        self._sat = FormatEncoder(fmt, lanes, saturate=True)
        self._ovf = FormatEncoder(fmt, lanes, saturate=False) if fmt != "e2m1" else None
        members = {
            "codes": In(self._decoder.codes.shape()),
            "values": Out(self._decoder.values.shape()),
            "fp32": In(self._sat.fp32.shape()),
            "sat_codes": Out(self._sat.codes.shape()),
            "sat_invalid": Out(self._sat.invalid.shape()),
        }
        if self._ovf is not None:
            members["ovf_codes"] = Out(self._ovf.codes.shape())
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.decoder = self._decoder
        m.submodules.sat = self._sat
        m.d.comb += [self._decoder.codes.eq(self.codes), self.values.eq(self._decoder.values),
                     self._sat.fp32.eq(self.fp32), self.sat_codes.eq(self._sat.codes),
                     self.sat_invalid.eq(self._sat.invalid)]
        if self._ovf is not None:
            m.submodules.ovf = self._ovf
            m.d.comb += [self._ovf.fp32.eq(self.fp32), self.ovf_codes.eq(self._ovf.codes)]
        return m
