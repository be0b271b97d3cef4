"""FGMP operand layouts shared by the VMAC, the activation quantization unit and their benches.

A block is 16 element codes plus, as the variant needs, its mode bit (True =
FP8, E4M3 codes) and its E4M3 block scale (NVFP4 blocks, E2M1 codes in the low
4 bits). Numerics: ``docs/numerics.md``, section *FGMP dot product*.
"""

from amaranth.hdl import unsigned
from amaranth.lib import data

from golden.facts import BLOCK

__all__ = ["VARIANTS", "BLOCK", "block_layout", "beat_layout"]

VARIANTS = ("mixed", "fp8", "fp4")
"""``"mixed"``: every block carries its mode bit; ``"fp8"`` / ``"fp4"``: one block kind only."""


def block_layout(variant: str) -> data.StructLayout:
    """One operand block: mode bit (True = FP8), 16 codes, E4M3 block scale — as the variant needs."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
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
