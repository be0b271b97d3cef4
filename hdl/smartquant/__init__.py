"""SmartQuant: CXL-side memory controller serving bit-plane weights at a run-time precision.

Spec: ``docs/smartquant.md``; golden model: :class:`golden.bitplane.PlaneStoreModel`.
"""

from .controller import SmartQuantController
from .device import SmartQuantDevice
from .onchip_dram import OnChipDram

__all__ = ["SmartQuantController", "SmartQuantDevice", "OnChipDram"]
