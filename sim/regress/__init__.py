"""Sharded regressions on Dask distributed (``make regress``, ``python -m sim.regress``).

``plan`` names the blocks and splits each one's vectors into seeded shards; ``shard`` runs one
shard as an ordinary bench run; ``engine`` runs the shards on a Dask cluster (a local one by
default) and merges their records and coverage per block; ``coverage`` merges the benches'
cocotb-coverage files and counts the bins hit.
"""
