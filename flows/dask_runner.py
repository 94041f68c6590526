"""Backfill days on Dask (the optional ``dask`` extra: ``pip install -e '.[dask]'``).

``--runner dask-local`` runs the days on a ``dask.distributed.LocalCluster``
of ``--workers`` worker processes on this machine, on loopback; ``--runner
tcp://host:8786`` (any Dask scheduler address) on an existing cluster, which
may span machines. Either way each day is still its own ``daily-books`` run,
reporting to the backfill's Prefect API, and the warehouse's writer lock
(a file lock) makes the days' writes take turns, so every Dask worker must
see the same warehouse path (a shared file system), and reach the Prefect API:
workers on other machines need ``PREFECT_API_URL`` set to a server they can
reach (the project's local server listens on 127.0.0.1 only).
"""

from __future__ import annotations

from typing import Any

from openbooks.errors import OpenbooksError

LOCAL = "dask-local"
INSTALL_HINT = "pip install -e '.[dask]'"


def is_dask_runner(runner: str) -> bool:
    """Whether ``--runner`` names Dask: ``dask-local`` or a scheduler address."""
    return runner == LOCAL or "://" in runner


def local_cluster_kwargs(workers: int) -> dict[str, Any]:
    """A LocalCluster of ``workers`` single-threaded processes on 127.0.0.1, no dashboard."""
    return {"n_workers": workers, "threads_per_worker": 1, "processes": True,
            "host": "127.0.0.1", "dashboard_address": None}


def dask_task_runner(runner: str, workers: int):
    """The ``DaskTaskRunner`` that ``--runner`` names (see the module's docstring)."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise OpenbooksError(f"--runner {runner}: prefect-dask is not installed ({exc.name} is missing); "
                             f"install the extra: {INSTALL_HINT}")
    if runner == LOCAL:
        return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=local_cluster_kwargs(workers))
    return DaskTaskRunner(address=runner)
