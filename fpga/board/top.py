"""Board top: SmartQuant device and FGMP VMAC behind the UART host bridge."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring

from hdl.fgmp_layout import beat_layout
from hdl.fgmp_vmac import FGMPVmac
from hdl.smartquant import SmartQuantDevice
from hdl.smartquant.cxl_mem import DRSLayout, NDRLayout, ReqLayout, RwDLayout

from .host_bridge import HostBridge
from .uart import UARTReceiver, UARTTransmitter

__all__ = ["COMMANDS", "RESPONSES", "BridgedAccelerator", "BoardTop"]

ONE = 0x3F80_0000                     # FP32 1.0: the VMAC's tensor scales on the board

COMMANDS = {                           # id 0x01, 0x02, ... in this order
    "req": data.Layout.cast(ReqLayout).size,
    "rwd": data.Layout.cast(RwDLayout).size,
    "reg_write": 8 + 32,               # address, then data
    "reg_read": 8,
    "vmac": beat_layout("mixed", 1).size,
}
RESPONSES = {                          # id 0x81, 0x82, ...
    "drs": data.Layout.cast(DRSLayout).size,
    "ndr": data.Layout.cast(NDRLayout).size,
    "reg_data": 32,
    "vmac_result": 32,
}


class BridgedAccelerator(wiring.Component):
    """UART pins in and out; inside, the host bridge drives the SmartQuant device
    (``n_groups`` groups on chip) and a mixed FGMP VMAC (one block pair per cycle).

    Parameters
    ----------
    clk_hz : int
        Frequency of the ``sync`` clock.
    baud : int
    n_groups, pool_rows, lane_bits : int
        The SmartQuant device's region size, plane-pool rows and corner-turn width (one row and
        64-bit lanes keep the board build small: a UART host needs nothing wider).
    dsp : {"inferred", "ecp5"}
        The VMAC's scale multipliers (``"ecp5"``: MULT18X18D instances, for the bitstream;
        simulators run ``"inferred"``).
    """

    def __init__(self, clk_hz: int, baud: int = 115200, n_groups: int = 16, pool_rows: int = 1,
                 lane_bits: int = 64, dsp: str = "inferred"):
        self.clk_hz, self.baud, self.n_groups, self.pool_rows = clk_hz, baud, n_groups, pool_rows
        self.dsp = dsp
        self.lane_bits = lane_bits
        super().__init__({"rx": wiring.In(1, init=1), "tx": wiring.Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.receiver = receiver = UARTReceiver(self.clk_hz, self.baud)
        m.submodules.transmitter = transmitter = UARTTransmitter(self.clk_hz, self.baud)
        m.submodules.bridge = bridge = HostBridge(COMMANDS, RESPONSES)
        m.submodules.device = device = SmartQuantDevice(self.n_groups, pool_rows=self.pool_rows,
                                                             lane_bits=self.lane_bits)
        m.submodules.vmac = vmac = FGMPVmac(1, "mixed", dsp=self.dsp)
        m.d.comb += [receiver.rx.eq(self.rx), self.tx.eq(transmitter.tx)]
        wiring.connect(m, receiver.o, bridge.rx)
        wiring.connect(m, bridge.tx, transmitter.i)

        for ours, theirs in ((bridge.req, device.host.req), (bridge.rwd, device.host.rwd),
                             (bridge.vmac, vmac.i)):
            m.d.comb += [theirs.valid.eq(ours.valid), theirs.payload.eq(ours.payload), ours.ready.eq(theirs.ready)]
        for ours, theirs in ((bridge.drs, device.host.drs), (bridge.ndr, device.host.ndr),
                             (bridge.vmac_result, vmac.o)):
            m.d.comb += [ours.valid.eq(theirs.valid), ours.payload.eq(theirs.payload), theirs.ready.eq(ours.ready)]
        m.d.comb += [vmac.w_scale.eq(ONE), vmac.a_scale.eq(ONE)]

        # Register port: a write takes one cycle; a read presents the address, then returns r_data.
        regs = device.regs
        read_pending = Signal()
        m.d.comb += [bridge.reg_write.ready.eq(~read_pending),
                     bridge.reg_read.ready.eq(~read_pending & ~bridge.reg_write.valid)]
        with m.If(bridge.reg_write.valid & ~read_pending):
            m.d.comb += [regs.addr.eq(bridge.reg_write.payload[:8]), regs.w_data.eq(bridge.reg_write.payload[8:]),
                         regs.w_en.eq(1)]
        with m.Elif(bridge.reg_read.valid & bridge.reg_read.ready):
            m.d.comb += regs.addr.eq(bridge.reg_read.payload)
            m.d.sync += read_pending.eq(1)
        data_valid = Signal()
        with m.If(read_pending & ~data_valid):
            m.d.sync += [bridge.reg_data.payload.eq(regs.r_data), data_valid.eq(1)]
        m.d.comb += bridge.reg_data.valid.eq(data_valid)
        with m.If(data_valid & bridge.reg_data.ready):
            m.d.sync += [data_valid.eq(0), read_pending.eq(0)]
        return m


class BoardTop(wiring.Component):
    """The platform-level top: ULX3S clock, UART pins, reset on button 0 (``PWR`` released)."""

    def __init__(self, clk_hz: int, **kwargs):
        self.clk_hz, self.kwargs = clk_hz, kwargs
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = BridgedAccelerator(self.clk_hz, **self.kwargs)
        uart = platform.request("uart", 0)
        m.d.comb += [core.rx.eq(uart.rx.i), uart.tx.o.eq(core.tx)]
        return m
