"""Where the engine's per-day pass runs: each day's books and charts, then
its page (``flows.range_books``), and the charts of the site.

An executor is ``submit(function, *args)`` returning a future whose
``result()`` is ``function(*args)``'s (or raises its error); the job is a
module-level function and its arguments, so it runs the same anywhere and
gives byte for byte what running it inline gives. Three kinds:

- ``Inline``: in this process, at once (a short range: starting processes
  would cost more than they save);
- local processes: ``concurrent.futures.ProcessPoolExecutor`` of fresh
  interpreters (``spawn``: none of this process's threads, its Prefect
  client or its DuckDB connection), one per core from ``POOL_FROM_DAYS``
  days on, each first importing what the jobs use;
- a Dask cluster (``dask://host:8786`` or ``tcp://host:8786``, the optional
  ``dask`` extra): a ``distributed.Client`` of the scheduler there.

Reading the sources and writing the warehouse never leave this process
(DuckDB's file has one writer): only frames go to the executor, and only
books, charts and pages come back.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from openbooks.errors import OpenbooksError

POOL_FROM_DAYS = 8  # fewer days: the processes' start (~1.5 s each) costs more than they save
WARM_MODULES = ("openbooks.flows.stages.day_books", "openbooks.flows.report.page")  # what the jobs use
DASK_SCHEMES = ("dask://", "tcp://", "tls://")
INSTALL_HINT = "pip install -e '.[dask]'"


class _Closing:
    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Inline(_Closing):
    """Runs each job as it is submitted, in this process."""

    in_processes = False

    def submit(self, function: Callable, *args: Any) -> Future:
        done: Future = Future()
        try:
            done.set_result(function(*args))
        except Exception as exc:  # noqa: BLE001 - handed to whoever reads the future, as a process's would be
            done.set_exception(exc)
        return done


class Processes(_Closing):
    """A ``ProcessPoolExecutor`` of ``processes`` fresh interpreters, started
    now (each importing ``warm``), so that they are ready when the first job comes."""

    in_processes = True

    def __init__(self, processes: int, warm: tuple[str, ...] = WARM_MODULES) -> None:
        self._pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_import_all, initargs=(warm,))
        self._started = [self._pool.submit(_ready) for _ in range(processes)]  # one process started per job

    def submit(self, function: Callable, *args: Any) -> Future:
        """The job's future; a pool that cannot take it (a process of it
        died) is that job's error, raised by ``result()`` as any other."""
        try:
            return self._pool.submit(function, *args)
        except (BrokenProcessPool, RuntimeError) as exc:
            failed: Future = Future()
            failed.set_exception(exc)
            return failed

    def close(self) -> None:
        """Every job done; a process still starting (importing, no job yet
        given: a command that failed early) is ended, not waited for."""
        if not all(started.done() for started in self._started):
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.kill()
        self._pool.shutdown(wait=True)


class OnDask(_Closing):
    """The jobs on the workers of the Dask scheduler at ``address``."""

    in_processes = True

    def __init__(self, address: str, timeout: str = "30s") -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise OpenbooksError(f"--runner {address}: dask.distributed is not installed ({exc.name} is missing); "
                                 f"install the extra: {INSTALL_HINT}")
        target = "tcp://" + address.removeprefix("dask://") if address.startswith("dask://") else address
        try:
            self._client = Client(target, timeout=timeout, set_as_default=False)
        except OSError as exc:
            raise OpenbooksError(f"--runner {address}: cannot reach the Dask scheduler ({exc})")

    def submit(self, function: Callable, *args: Any) -> Any:
        return self._client.submit(function, *args, pure=False)

    def close(self) -> None:
        self._client.close()


def is_dask(runner: str | None) -> bool:
    return bool(runner) and runner.startswith(DASK_SCHEMES)


def executor_for(days: int, runner: str | None = None):
    """The executor of a range of ``days``: the Dask cluster ``runner`` names,
    ``local`` processes (one per core from ``POOL_FROM_DAYS`` days on, else
    inline; the default), or ``inline``."""
    if is_dask(runner):
        return OnDask(runner)
    if runner not in (None, "local", "inline"):
        raise OpenbooksError(f"--runner {runner!r}: expected local, inline or a Dask scheduler (dask://host:8786)")
    cores = os.cpu_count() or 1
    if runner == "inline" or days < POOL_FROM_DAYS or cores < 2:
        return Inline()
    return Processes(cores)


def _import_all(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


def _ready() -> None:
    return None
