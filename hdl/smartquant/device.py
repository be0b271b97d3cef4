"""A buildable SmartQuant device: the controller with on-chip memory as its DRAM."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from golden.bitplane import PLANES

from .controller import SmartQuantController
from .cxl_mem import HostSignature
from .onchip_dram import OnChipDram
from .registers import RegisterBusSignature

__all__ = ["SmartQuantDevice"]


class SmartQuantDevice(wiring.Component):
    """:class:`SmartQuantController` over :class:`OnChipDram` holding the whole region.

    Parameters
    ----------
    n_groups : int
        Region size in groups (the memory holds ``8 * n_groups`` bursts).
    **controller
        Other :class:`SmartQuantController` parameters (``dram_base`` must stay 0).

    Members
    -------
    host : In(HostSignature())
    regs : In(RegisterBusSignature())
    """

    def __init__(self, n_groups: int = 64, **controller):
        if controller.get("dram_base", 0) != 0:
            raise ValueError(f"dram_base must be 0 with on-chip memory, got {controller['dram_base']!r}")
        self.controller = SmartQuantController(n_groups, **controller)
        self.memory = OnChipDram(n_groups * PLANES, self.controller.dram_address_width, self.controller.id_width)
        super().__init__({"host": In(HostSignature()), "regs": In(RegisterBusSignature())})

    def elaborate(self, platform):
        m = Module()
        m.submodules.controller = self.controller
        m.submodules.memory = self.memory
        wiring.connect(m, self.controller.dram, self.memory.port)
        wiring.connect(m, wiring.flipped(self.host), self.controller.host)
        wiring.connect(m, wiring.flipped(self.regs), self.controller.regs)
        return m
