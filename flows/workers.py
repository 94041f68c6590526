"""A range's per-day work in worker processes: each day's books and charts
while the days are computed, then each day's page.

Computing a day (the transforms) and drawing its four charts (vl-convert)
is most of what a backfill spends per day once reading, checking and
publishing are done in passes. ``Workers`` runs a short range inline, as a
single run does; from ``POOL_FROM_DAYS`` days on it starts one worker
process per core (``flows.worker_process``, a fresh interpreter that imports
only what the work needs: no Prefect, no GX, none of this process's
threads), which work while this process reads, checks and stages. A job is a
module-level function and its arguments (``submit``); the worker runs the
same function on the same frames, so what comes back is byte for byte what
running it inline gives.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from openbooks.flows import worker_process
from openbooks.errors import OpenbooksError

POOL_FROM_DAYS = 8  # fewer days: the workers' start (~1.5 s each) costs more than they save
WARM_MODULES = ("openbooks.flows.day_books", "openbooks.flows.report.page")  # what the jobs use, imported as a worker starts


class Workers:
    """``submit(function, *args)`` runs ``function(*args)``; the future holds its result (or its error)."""

    def __init__(self, days: int = 0, *, processes: int | None = None, warm: tuple[str, ...] = WARM_MODULES) -> None:
        """Workers for a range of ``days``: one process per core from
        ``POOL_FROM_DAYS`` days on, else none (inline); or ``processes`` of
        them, each first importing the modules ``warm`` names."""
        if processes is None:
            cores = os.cpu_count() or 1
            processes = cores if days >= POOL_FROM_DAYS and cores > 1 else 0
        self._jobs: queue.Queue = queue.Queue()
        self._workers: list[_Worker] = [_Worker(self._jobs, warm) for _ in range(processes)]

    @property
    def in_processes(self) -> bool:
        return bool(self._workers)

    def submit(self, function: Callable, *args: Any) -> Future:
        done: Future = Future()
        if self._workers:
            self._jobs.put((function, args, done))
            return done
        try:
            done.set_result(function(*args))
        except Exception as exc:  # noqa: BLE001 - handed to whoever reads the future, as a worker's would be
            done.set_exception(exc)
        return done

    def close(self) -> None:
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.join()
        self._workers = []

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Worker:
    """One ``worker_process``, fed from the shared queue by a thread of ours."""

    def __init__(self, jobs: queue.Queue, warm: tuple[str, ...]) -> None:
        # One import name (openbooks): a folder that this process put on its
        # own sys.path cannot shadow a module of ours or of Python's there.
        self._process = subprocess.Popen([sys.executable, "-m", "openbooks.flows.worker_process", *warm],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._jobs = jobs
        self._thread = threading.Thread(target=self._serve, name="openbooks-worker", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            function, args, done = job
            try:
                worker_process.send(self._process.stdin, (function, args))
                ok, value = worker_process.receive(self._process.stdout)
            except (EOFError, OSError):
                done.set_exception(OpenbooksError(
                    f"a worker process ended unexpectedly (exit code {self._process.poll()})"))
                continue
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)

    def join(self) -> None:
        """Once no job is left: the process told to end, and ended if it is
        still starting (importing its modules: a command that failed early
        need not wait for them; it has nothing in hand to lose)."""
        self._thread.join()
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
