"""One local Prefect API per project, shared by every command that runs a flow.

Prefect records flow and task runs through an API. Without ``PREFECT_API_URL``
each command used to start a throw-away (ephemeral) server, which costs
seconds per command and, on a busy machine, failed outright when it was not up
within Prefect's 20 s. Instead the first command that needs an API starts a
real one (``prefect server start`` on 127.0.0.1, a free port), detached in its
own session so that it outlives the command, and writes ``server.json`` (URL,
pid, log) into the project's state directory, ``.prefect/`` beside the
warehouse (git-ignored; Prefect's SQLite database lives there too). Later
commands find it there and check its health; a server that died (its pid gone,
or no longer a Prefect server) is replaced. A file lock makes commands that
start at the same moment start one server, not two. Waiting for a new server
is bounded by ``OPENBOOKS_API_STARTUP_SECONDS`` (600 s by default), with a
message while it waits: a slow machine makes a command wait, not fail.

``PREFECT_API_URL`` set by the user (environment or Prefect profile) wins:
then nothing is started. ``openbooks server start|status|stop`` manage the
local server by hand.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openbooks.flows.runtime.prefect_server import (
    ApiServer,
    Echo,
    healthy,
    is_prefect_server,
    say,
    spawn_server,
    startup_seconds,
    stop_group,
    wait_until_healthy,
)
from openbooks.config import Config
from openbooks.errors import OpenbooksError

STATE_DIR = ".prefect"


def state_dir(config: Config) -> Path:
    """The project's Prefect state: ``.prefect/`` beside the warehouse file."""
    return config.warehouse_path.parent / STATE_DIR


def read_state(directory: Path) -> ApiServer | None:
    """The server ``server.json`` names, or None (no file, or not readable as one)."""
    try:
        data = json.loads((directory / "server.json").read_text(encoding="utf-8"))
        return ApiServer(url=str(data["url"]), pid=int(data["pid"]), log=Path(data["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(directory: Path, server: ApiServer) -> None:
    path = directory / "server.json"
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(server.as_json() + "\n", encoding="utf-8")
    scratch.replace(path)  # atomic: a reader sees the old file or the new one


def forget_state(directory: Path) -> None:
    (directory / "server.json").unlink(missing_ok=True)


@contextmanager
def state_lock(directory: Path, echo: Echo = say) -> Iterator[None]:
    """Hold ``server.lock``: one command at a time finds, starts or stops the server."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "server.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            echo("another openbooks command is starting or stopping the local Prefect API; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def running_server(directory: Path) -> ApiServer | None:
    """The recorded server if its process is still a Prefect server, else None."""
    server = read_state(directory)
    return server if server is not None and is_prefect_server(server.pid) else None


def ensure_server(config: Config, echo: Echo = say) -> tuple[ApiServer, bool]:
    """The project's local server, started if none runs; and whether it was started now."""
    return ensure_server_in(state_dir(config), echo)


def ensure_server_in(directory: Path, echo: Echo = say) -> tuple[ApiServer, bool]:
    """The server whose state is in ``directory``, started if none runs; and whether it was started now."""
    with state_lock(directory, echo):
        server = running_server(directory)
        started = server is None
        if started:
            if read_state(directory) is not None:
                echo(f"the local Prefect API recorded in {directory / 'server.json'} is gone; starting a new one")
            forget_state(directory)
            server = start_server(directory, echo)
        elif not healthy(server.url):
            echo(f"waiting for the local Prefect API at {server.url} (pid {server.pid}) to answer")
            try:
                wait_until_healthy(server, echo=echo)
            except OpenbooksError as exc:
                raise OpenbooksError(f"{exc}\nopenbooks server stop stops it; the next command starts a new one")
        return server, started


def start_server(directory: Path, echo: Echo = say) -> ApiServer:
    """Start a detached server for ``directory``, record it, wait until it answers."""
    process, url = spawn_server(directory, directory / "server.log")
    server = ApiServer(url=url, pid=process.pid, log=directory / "server.log")
    write_state(directory, server)
    echo(f"starting the local Prefect API at {url.removesuffix('/api')} (pid {server.pid}; "
         f"up to {startup_seconds():g} s; later commands reuse it; stop it with: openbooks server stop)")
    try:
        wait_until_healthy(server, echo=echo)
    except BaseException:
        stop_group(server.pid)  # half-started: gone, so that the next command starts afresh
        forget_state(directory)
        raise
    return server


def stop_server(config: Config, echo: Echo = say) -> ApiServer | None:
    """Stop the project's local server; the one stopped, or None if none ran."""
    return stop_server_in(state_dir(config), echo)


def stop_server_in(directory: Path, echo: Echo = say) -> ApiServer | None:
    """Stop the server whose state is in ``directory``; the one stopped, or None if none ran."""
    with state_lock(directory, echo):
        server = running_server(directory)
        if server is not None:
            stop_group(server.pid)
        forget_state(directory)
    return server


def user_api_url() -> str | None:
    """``PREFECT_API_URL`` from the environment or the active Prefect profile."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def use_local_api(config: Config, echo: Echo = say) -> str:
    """Point this process, and every process it starts, at a Prefect API:
    ``PREFECT_API_URL`` when the user set one, else the project's local
    server (started if none runs). Returns the API URL."""
    url = user_api_url()
    if url:
        return url
    server, _ = ensure_server(config, echo)
    point_at(server.url)
    return server.url


@contextmanager
def without_heartbeats() -> Iterator[None]:
    """Flow runs that a command runs and waits for, with no heartbeat thread.
    Prefect joins that thread when a flow run ends, and it sleeps in whole
    seconds: up to a second more per run (per day, in a per-day backfill). A
    heartbeat tells a server that a run it does not watch has not died; a
    command's runs end with the command, and ``run_log`` marks one that was
    interrupted. Scheduled runs (``serve``, deployments) keep them."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def point_at(url: str) -> None:
    """Make ``url`` this process's Prefect API from now on (and its children's)."""
    os.environ["PREFECT_API_URL"] = url
    if "prefect.context" in sys.modules:  # settings already read: read them again
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
