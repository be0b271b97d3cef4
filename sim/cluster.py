"""The Dask cluster the project's sweeps run on (``sim.regress`` shards, ``fpga.flow`` seeds).

:func:`connect` joins a running scheduler (``--scheduler`` or ``$CXLQUANT_DASK_SCHEDULER``) or
starts a ``LocalCluster`` of single-threaded worker processes, one per core: nothing to start
beforehand. A Slurm / LSF / PBS site starts its workers with dask-jobqueue (README).
"""

from __future__ import annotations

import os

__all__ = ["SCHEDULER_VARIABLE", "connect"]

SCHEDULER_VARIABLE = "CXLQUANT_DASK_SCHEDULER"
"""Environment variable naming a running scheduler (``tcp://HOST:PORT``), as ``--scheduler`` does."""


def connect(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: on ``scheduler`` (or ``$CXLQUANT_DASK_SCHEDULER``) if given, else on a new
    local cluster of ``workers`` single-threaded worker processes (default: one per core)."""
    from dask.distributed import Client, LocalCluster
    address = scheduler or os.environ.get(SCHEDULER_VARIABLE)
    if address:
        return Client(address, timeout="30s")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers={workers!r}: expected a positive integer")
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=":0")                # any free port
    return Client(cluster)
