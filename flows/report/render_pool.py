"""A range's day reports rendered side by side, in worker processes.

Rendering a day is about a third of a second of one core (Altair building
its four charts, vl-convert drawing them), most of what a backfill spends
per day once the data work is done in passes. ``Renderer`` renders a short
range inline, as a single run does; from ``POOL_FROM_DAYS`` days on it
starts one worker process per core (``flows.report.render_worker``, a
fresh interpreter that imports only the report code, with none of this
process's threads or Prefect's state), which render while this process
stages the days that follow. They run the same ``render_day`` on the same
tables, so each page is byte for byte what an inline render writes.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import Future

import polars as pl

from flows.report import render_worker
from flows.report.day import Context
from flows.report.page import Report, render_day
from openbooks.errors import OpenbooksError

POOL_FROM_DAYS = 8  # fewer days: the workers' start (~1.5 s each) costs more than they save


class Renderer:
    """``submit(tables, context)`` renders a day's report; the future holds it (or the error)."""

    def __init__(self, days: int) -> None:
        cores = os.cpu_count() or 1
        self._jobs: queue.Queue = queue.Queue()
        self._workers: list[_Worker] = []
        if days >= POOL_FROM_DAYS and cores > 1:
            self._workers = [_Worker(self._jobs) for _ in range(cores)]

    def submit(self, tables: Mapping[str, pl.DataFrame], context: Context) -> Future[Report]:
        done: Future[Report] = Future()
        if self._workers:
            self._jobs.put((dict(tables), context, done))
            return done
        try:
            done.set_result(render_day(tables, context))
        except Exception as exc:  # noqa: BLE001 - handed to whoever reads the future, as a worker's would be
            done.set_exception(exc)
        return done

    def close(self) -> None:
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.join()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Worker:
    """One ``render_worker`` process, fed from the shared queue by a thread of ours."""

    def __init__(self, jobs: queue.Queue) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # our modules, as we see them
        self._process = subprocess.Popen([sys.executable, "-m", "flows.report.render_worker"], env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._jobs = jobs
        self._thread = threading.Thread(target=self._serve, name="openbooks-render", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            tables, context, done = job
            try:
                render_worker.send(self._process.stdin, (tables, context))
                ok, value = render_worker.receive(self._process.stdout)
            except (EOFError, OSError):
                done.set_exception(OpenbooksError(
                    f"the report renderer process ended unexpectedly (exit code {self._process.poll()})"))
                continue
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)

    def join(self) -> None:
        self._thread.join()
        try:
            self._process.stdin.close()
        except OSError:
            pass
        self._process.wait()
