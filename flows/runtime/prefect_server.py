"""A Prefect server as a process of its own on loopback: start it, check its
health, wait for it (bounded, with a message while waiting), stop it.

Used by ``flows.prefect_api`` (the project's shared server) and
``flows.serve`` (the private server of ``openbooks serve``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from openbooks.errors import OpenbooksError

LOOPBACK = "127.0.0.1"
STARTUP_ENV = "OPENBOOKS_API_STARTUP_SECONDS"
DEFAULT_STARTUP_SECONDS = 600.0
IDLE_ENV = "OPENBOOKS_API_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30.0
STOP_SECONDS = 20.0
WAIT_MESSAGE_EVERY = 30.0
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

Echo = Callable[[str], None]


def say(message: str) -> None:
    """Progress lines go to stderr, as plain text: stdout is the command's data."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ApiServer:
    """A Prefect server on loopback: its API URL, pid (and process group) and log."""

    url: str  # http://127.0.0.1:<port>/api
    pid: int
    log: Path

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "log": str(self.log)}, indent=2)


# -- processes and health -------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """Whether the API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "State:\tZ" not in status


def is_prefect_server(pid: int) -> bool:
    """Whether ``pid`` is alive and a ``prefect server start`` (not a pid reused by another program)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return alive(pid) and b"prefect" in command and b"server" in command and b"start" in command


def spawn_server(home: Path, log_path: Path, *, detached: bool = True) -> tuple[subprocess.Popen, str]:
    """``prefect server start`` on a free loopback port, in a session of its own
    (Ctrl-C or a closed terminal does not reach it), with ``home`` as its
    ``PREFECT_HOME`` and its output appended to ``log_path``. ``detached``, it
    ends by itself after ``OPENBOOKS_API_IDLE_MINUTES`` without a request or
    once ``home`` is gone (``flows.idle_api``); not ``detached``, it is stopped
    when this process ends, however it ends."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_LOGGING_LEVEL")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_API_HOST=LOOPBACK, PREFECT_SERVER_API_PORT=str(port),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    command = ["prefect", "server", "start", "--host", LOOPBACK, "--port", str(port)]
    if detached:
        command = [sys.executable, "-m", "openbooks.flows.runtime.idle_api", str(home), f"{idle_minutes() * 60:g}", *command]
    else:
        command = [sys.executable, "-m", *command]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, env=env, cwd=home if detached else None, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=None if detached else die_with_parent,
        )
    return process, f"http://{LOOPBACK}:{port}/api"


def die_with_parent() -> None:
    """In the child, before it runs: SIGTERM it when its parent dies, even by
    SIGKILL (Linux's PR_SET_PDEATHSIG), so a private server never outlives its owner."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the owner's own stop has to do


def positive_env(name: str, default: float, unit: str) -> float:
    """The environment's ``name`` as a positive number of ``unit``, or ``default`` when unset."""
    value = os.environ.get(name, "").strip()
    try:
        number = float(value) if value else default
    except ValueError:
        raise OpenbooksError(f"{name}={value!r}: expected a number of {unit}")
    if number <= 0:
        raise OpenbooksError(f"{name}={value!r}: expected a number of {unit} > 0")
    return number


def startup_seconds() -> float:
    """How long to wait for a starting server: ``OPENBOOKS_API_STARTUP_SECONDS`` or 600."""
    return positive_env(STARTUP_ENV, DEFAULT_STARTUP_SECONDS, "seconds")


def idle_minutes() -> float:
    """After how long without a request the shared server ends: ``OPENBOOKS_API_IDLE_MINUTES`` or 30."""
    return positive_env(IDLE_ENV, DEFAULT_IDLE_MINUTES, "minutes")


def wait_until_healthy(server: ApiServer, *, seconds: float | None = None, echo: Echo = say) -> None:
    """Wait for ``server`` to answer, up to ``seconds``, saying so every 30 s;
    an error if it exits first or does not answer in time."""
    bound = startup_seconds() if seconds is None else seconds
    began = time.monotonic()
    told = began
    while not healthy(server.url):
        waited = time.monotonic() - began
        if not alive(server.pid):
            raise OpenbooksError(f"the local Prefect server (pid {server.pid}) exited before it was ready; "
                                 f"its log: {server.log}")
        if waited > bound:
            raise OpenbooksError(f"the local Prefect server (pid {server.pid}) did not answer within {bound:g} s "
                                 f"(set {STARTUP_ENV} to wait longer); its log: {server.log}")
        if time.monotonic() - told >= WAIT_MESSAGE_EVERY:
            echo(f"still waiting for the local Prefect API at {server.url} ({waited:.0f} s of up to {bound:g} s)")
            told = time.monotonic()
        time.sleep(0.5)


def stop_group(pid: int, grace: float = STOP_SECONDS) -> None:
    """SIGTERM process group ``pid``, SIGKILL it if still there ``grace`` seconds later."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not alive(pid):
            break
    try:  # whatever the server started and left behind in its group
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
