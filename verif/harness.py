"""Test-only tops that gather several components into one build per configuration."""

from amaranth.hdl import Cat, Module, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hdl.fgmp_act_quant import THRESHOLD_LAYOUT, FGMPActQuant
from hdl.fgmp_layout import block_layout
from hdl.fgmp_vmac import FGMPVmac
from hdl.format_decoder import FormatDecoder
from hdl.format_encoder import FormatEncoder

__all__ = ["CodecHarness", "QuantizedDotHarness"]


class CodecHarness(wiring.Component):
    """The decoder and the encoders (saturating and, where the format allows, not) of one format.

    Members
    -------
    codes, values : the decoder's ports.
    fp32 : In, shared by the encoders.
    sat_codes, sat_invalid : the saturating encoder's outputs (``FormatEncoder.latency`` cycles
        after ``fp32``; the decoder has no latency).
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


class QuantizedDotHarness(wiring.Component):
    """Activation quantization unit feeding the VMAC: a GEMV datapath with raw activations in.

    Each input beat carries a weight block (VMAC operand layout), the raw
    activation block it multiplies, its channel-block index and ``last``. The
    activations go through :class:`FGMPActQuant`; the weight block waits in a
    FIFO for its quantized partner; the pair enters :class:`FGMPVmac`.
    """

    def __init__(self, input_format: str = "bf16", max_channels: int = 1024):
        self._act = FGMPActQuant(input_format, max_channels)
        self._vmac = FGMPVmac(1, "mixed")
        act_in = self._act.i.payload.shape()
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "w": block_layout("mixed"), "x": act_in, "last": 1}))),
            "o": Out(stream.Signature(unsigned(32))),
            "cfg_scale_exp": In(signed(8)), "cfg_threshold": In(THRESHOLD_LAYOUT), "cfg_bank": In(1), "cfg_we": In(1),
            "sens_bank": In(1), "sens_addr": In(self._act.sens_addr.shape()),
            "sens_data": In(self._act.sens_data.shape()), "sens_we": In(1), "w_scale": In(32), "a_scale": In(32),
        })

    def elaborate(self, platform):
        m = Module()
        act, vmac = self._act, self._vmac
        m.submodules.act, m.submodules.vmac = act, vmac
        m.submodules.wfifo = wfifo = SyncFIFO(width=block_layout("mixed").size + 1, depth=16)
        m.d.comb += [
            act.cfg_scale_exp.eq(self.cfg_scale_exp), act.cfg_threshold.eq(self.cfg_threshold),
            act.cfg_bank.eq(self.cfg_bank), act.cfg_we.eq(self.cfg_we), act.sens_bank.eq(self.sens_bank),
            act.sens_addr.eq(self.sens_addr), act.sens_data.eq(self.sens_data), act.sens_we.eq(self.sens_we),
            act.status_clear.eq(0), vmac.w_scale.eq(self.w_scale), vmac.a_scale.eq(self.a_scale),
            # split: both sides take the beat in the same cycle
            act.i.payload.eq(self.i.payload.x), act.i.valid.eq(self.i.valid & wfifo.w_rdy),
            wfifo.w_data.eq(Cat(self.i.payload.w.as_value(), self.i.payload.last)),
            wfifo.w_en.eq(self.i.valid & act.i.ready),
            self.i.ready.eq(act.i.ready & wfifo.w_rdy),
            # join: a quantized activation block with its weight block
            vmac.i.payload.w[0].eq(wfifo.r_data[:-1]), vmac.i.payload.last.eq(wfifo.r_data[-1]),
            vmac.i.payload.a[0].eq(act.o.payload),
            vmac.i.valid.eq(act.o.valid & wfifo.r_rdy),
            act.o.ready.eq(vmac.i.ready & wfifo.r_rdy),
            wfifo.r_en.eq(vmac.i.ready & act.o.valid),
        ]
        wiring.connect(m, wiring.flipped(self.o), vmac.o)
        return m
