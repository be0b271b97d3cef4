"""What a sharded regression runs: the blocks, their benches and how a shard's vectors are set.

A *block* is one hardware configuration with one cocotb bench; a *shard* is one ordinary bench run
on that configuration with its own seed and a share of the block's vectors. Shards of one block
reuse the simulator build of its configuration (``sim.runner`` caches it per configuration).

The blocks here name their hardware by factory (``hdl``) and their bench by module name, so this
driver imports nothing from ``verif``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

from hdl.fgmp_act_quant import FGMPActQuant
from hdl.fgmp_vmac import FGMPVmac
from hdl.smartquant import SmartQuantController

__all__ = ["Block", "Shard", "BLOCKS", "block_named", "plan_shards", "shard_seed"]


@dataclass(frozen=True)
class Block:
    """One configuration and the bench that checks it.

    Attributes
    ----------
    name : str
        The block's name in the regression (also the bench's build name).
    factory, params : the component under test, ``factory(**params)``.
    bench : str
        The cocotb module, e.g. ``"verif.benches.fgmp_vmac"``.
    unit : str
        What one vector is (``"rows"``, ``"blocks"``, ``"requests"``).
    shard_vectors : int
        Default vectors per shard.
    stimulus : callable
        ``stimulus(vectors)``: the bench settings of a shard of (about) ``vectors`` vectors;
        the shard checks at least that many.
    testcase : str or None
        Run only this cocotb test (None: the whole bench).
    simulator : str
    """

    name: str
    factory: Callable
    params: dict
    bench: str
    unit: str
    shard_vectors: int
    stimulus: Callable[[int], dict]
    testcase: str | None = None
    simulator: str = "verilator"
    fixed: dict = field(default_factory=dict)     # bench settings every shard takes


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _vmac(blocks: int, variant: str) -> Block:
    unit = FGMPVmac(blocks, variant)
    fixed = {"blocks": blocks, "variant": variant, "latency": unit.latency, "queue_depth": unit.queue_depth,
             "throughput_rows": 16}
    rows = 40
    return Block(f"vmac-{variant}-x{blocks}", FGMPVmac, {"blocks": blocks, "variant": variant},
                 "verif.benches.fgmp_vmac", "rows", 10_000,
                 lambda n: {"trials": _ceil(n, rows), "rows": rows}, fixed=fixed)


def _act_quant(fmt: str) -> Block:
    channels, rows = 256, 16
    per_trial = rows * channels // 16                       # blocks of 16 per trial
    return Block(f"actquant-{fmt}", FGMPActQuant, {"input_format": fmt, "max_channels": channels},
                 "verif.benches.fgmp_act_quant", "blocks", 10_240,
                 lambda n: {"trials": _ceil(n, per_trial), "rows": rows, "channels": channels},
                 fixed={"input_format": fmt})


# The controller configurations of the quick suite (verif/tests/test_smartquant.py).
_SMARTQUANT_BASE = {"n_groups": 16, "pool_rows": 8, "n_regions": 4}
_SMARTQUANT_CONFIGS = [{}, {"pool_rows": 1, "n_regions": 1, "dram_outstanding": 3, "lane_bits": 64}]


def _smartquant(hardware: dict) -> Block:
    params = {**_SMARTQUANT_BASE, **hardware}
    name = "smartquant-" + "-".join(f"{k}{v}" for k, v in params.items())
    fixed = {"dram_latency": 20, "host_outstanding": 64, "cap_passes": 1, "reset_every": 2_000}
    return Block(name, SmartQuantController, params, "verif.benches.smartquant", "requests", 25_000,
                 lambda n: {"random_ops": n}, testcase="random_traffic_with_backpressure", fixed=fixed)


BLOCKS: list[Block] = [
    *[_vmac(blocks, variant) for blocks, variant in ((1, "mixed"), (2, "mixed"), (1, "fp8"), (1, "fp4"))],
    *[_act_quant(fmt) for fmt in ("bf16", "fp16", "fp32")],
    *[_smartquant(hardware) for hardware in _SMARTQUANT_CONFIGS],
]


def block_named(name: str) -> Block:
    """The block called ``name``; ``ValueError`` naming it and the known ones otherwise."""
    for block in BLOCKS:
        if block.name == name:
            return block
    raise ValueError(f"unknown block {name!r}; known: {', '.join(b.name for b in BLOCKS)}")


def shard_seed(block: str, base_seed: int, index: int) -> int:
    """The seed of shard ``index`` of ``block``: fixed by the three, so a shard reruns alone."""
    return zlib.crc32(f"{block}/{base_seed}/{index}".encode()) & 0x7FFF_FFFF


@dataclass(frozen=True)
class Shard:
    """One bench run of a regression (picklable: it travels to a Dask worker)."""

    block: str
    index: int
    seed: int
    vectors: int            # planned; the bench may check a few more (whole trials)
    base_seed: int
    total_vectors: int
    shard_vectors: int

    def command(self) -> str:
        """The command that reruns this shard alone, on one machine, without a cluster."""
        return (f"python -m sim.regress {self.block} --vectors {self.total_vectors} "
                f"--shard-vectors {self.shard_vectors} --seed {self.base_seed} --shard {self.index}")


def plan_shards(block: Block, vectors: int, base_seed: int, shard_vectors: int | None = None) -> list[Shard]:
    """Split ``vectors`` of ``block`` into shards of ``shard_vectors`` (default the block's)."""
    for name, value in (("vectors", vectors), ("shard_vectors", shard_vectors)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name}={value!r}: expected a positive integer")
    size = shard_vectors or block.shard_vectors
    count = _ceil(vectors, size)
    return [Shard(block.name, i, shard_seed(block.name, base_seed, i), min(size, vectors - i * size),
                  base_seed, vectors, size) for i in range(count)]
