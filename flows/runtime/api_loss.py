"""The Prefect API going away while a day runs (its local server killed).

The books never depend on Prefect's API: the day is published, or not, in
the warehouse alone. When the API goes away mid-run, Prefect's client raises
(``httpx.ConnectError`` and the like) although the day may be published.
``api_loss_outcome`` says so in one line, from ``run_log``: the day's state,
and whether the command failed.

``watching_local_api`` watches the project's own local server (the one
``flows.prefect_api`` started; nothing restarts it on its port) while a
command runs. Once its process is gone, Prefect's client stops retrying
(its retries, 2 + 4 + 8 + 16 + 32 s a call, wait for a restart that will not
come: two minutes and more of waiting after the day was published) and its
log lines about the missing API (``EventsWorker failed``, crash reports) are
silenced: the command's one line says what happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from openbooks.config import Config

WATCH_EVERY = 0.25  # seconds between two looks at the local server's process

# Prefect's client talks HTTP through httpx: these mean the API is not there any more.
_LOST = ("ConnectError", "ConnectTimeout", "ReadError", "ReadTimeout", "RemoteProtocolError", "PoolTimeout",
         "WriteError", "CloseError")


def is_api_loss(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the Prefect API's connection going away."""
    seen = 0
    while exc is not None and seen < 10:
        if type(exc).__name__ in _LOST and type(exc).__module__.startswith(("httpx", "httpcore")):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def api_loss_outcome(config: Config, day: date, exc: BaseException) -> tuple[bool, str]:
    """(published, one line) for a run of ``day`` whose Prefect API went away:
    the day's last ``run_log`` status says whether its books were published."""
    from openbooks.flows.store.warehouse import session
    from openbooks.redact import redact

    if is_api_loss(exc):
        reason = type(exc).__name__ + ": " + redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    else:  # the watch saw the server's process end; what Prefect raised then says less
        reason = "the local server's process ended"
    try:
        with session(config, read_only=True) as con:
            last = con.execute("SELECT status, run_id FROM run_log WHERE day = ? ORDER BY started_at DESC LIMIT 1",
                               [day]).fetchone()
    except Exception:  # noqa: BLE001 - the warehouse's own error is not this line's
        last = None
    status, run_id = last if last else ("not started", None)
    head = f"the Prefect API went away during the run ({reason.rstrip(': ')})"
    if status in ("published", "unchanged"):
        return True, (f"{head}; {day} was {status} (run {run_id}): its books are in the warehouse, "
                      "its Prefect run record is incomplete")
    return False, f"{head}; {day} is {status} in run_log: nothing of this run was published"


class ApiWatch:
    """Whether the watched local Prefect API went away (``lost``)."""

    def __init__(self) -> None:
        self.gone = threading.Event()

    @property
    def lost(self) -> bool:
        return self.gone.is_set()


def _local_server(config: Config):
    """The project's local server (``ApiServer``), if it is the API this process uses."""
    import os

    from openbooks.flows.runtime.prefect_api import running_server, state_dir

    server = running_server(state_dir(config))
    return server if server is not None and os.environ.get("PREFECT_API_URL") == server.url else None


def is_gone(server) -> bool:
    """Whether ``server``'s process has ended, or nothing listens on its port
    any more (so as its process dies: its sockets close before it is gone)."""
    import socket
    from urllib.parse import urlsplit

    from openbooks.flows.runtime.prefect_server import is_prefect_server

    if not is_prefect_server(server.pid):
        return True
    where = urlsplit(server.url)
    try:
        socket.create_connection((where.hostname, where.port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        pass  # slow or busy is not gone
    return False


def _give_up_on_the_api(settings) -> None:
    """For the rest of this process: no more retries of Prefect's client, no
    more events sent (each waits ~7 s on reconnecting, and those queued are
    sent as the process exits: minutes), no more of Prefect's log lines. The
    API is gone for good. ``settings`` are those the command's Prefect calls
    were made under (each call carries its context)."""
    import prefect.context
    from prefect.events.worker import EventsWorker

    for current in {id(s): s for s in (settings, prefect.context.GLOBAL_SETTINGS_CONTEXT.settings)}.values():
        current.client.max_retries = 0
    logging.disable(logging.CRITICAL)
    for worker in list(EventsWorker._instances.values()):
        worker._handle = _dropped  # queued and later events go nowhere, at once


async def _dropped(_event) -> None:
    """An event for an API that is gone: dropped."""


class _QuietOnceGone(logging.Filter):
    """Drops Prefect's warnings and errors once the watched server's process
    is gone (looked at when such a line comes: the first ones come at once,
    from the connections the kill closed, before the watch's next look)."""

    def __init__(self, watch: ApiWatch, server) -> None:
        super().__init__()
        self.watch, self.server = watch, server

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith("prefect"):
            return True
        if not self.watch.lost and not is_gone(self.server):
            return True
        self.watch.gone.set()
        return False


def _handlers() -> list[logging.Handler]:
    """The handlers Prefect's lines reach: the root logger's and those of
    Prefect's loggers (``prefect._internal`` has its own and does not propagate)."""
    loggers = [logging.getLogger(), *(logger for name, logger in list(logging.Logger.manager.loggerDict.items())
                                      if name.startswith("prefect") and isinstance(logger, logging.Logger))]
    return list({id(h): h for logger in loggers for h in logger.handlers}.values())


@contextmanager
def watching_local_api(config: Config) -> Iterator[ApiWatch]:
    """While the block runs, watch the project's local Prefect server (when it
    is the API in use); when its process goes, give up on the API at once."""
    watch, server = ApiWatch(), _local_server(config)
    if server is None:
        yield watch
        return
    quiet, done = _QuietOnceGone(watch, server), threading.Event()
    for handler in _handlers():
        handler.addFilter(quiet)
    from prefect.settings import get_current_settings

    settings = get_current_settings()  # this thread's: those the block's Prefect calls carry
    watcher = threading.Thread(target=_look, args=(watch, server, done, settings), name="openbooks-api-watch",
                               daemon=True)
    watcher.start()
    try:
        yield watch
    finally:
        done.set()
        watcher.join()
        if not watch.lost:  # else kept: Prefect's services report the API's absence once more as they stop
            for handler in _handlers():
                handler.removeFilter(quiet)


def _look(watch: ApiWatch, server, done: threading.Event, settings) -> None:
    """Every ``WATCH_EVERY`` s until ``done``: is the server's process still there?"""
    from openbooks.flows.runtime.prefect_server import is_prefect_server

    while not done.wait(WATCH_EVERY):
        if watch.lost or not is_prefect_server(server.pid):
            watch.gone.set()
            _give_up_on_the_api(settings)
            return
