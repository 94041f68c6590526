"""Every process the test run starts ends with it: Prefect's API, Prometheus,
PostgreSQL, Chromium, Dask and worker processes alike. Each process started
under the run carries ``OPENBOOKS_TEST_RUN`` in its environment (children
inherit it, detached ones too); at the end of the run, any such process still
alive beside pytest itself is a server the run left behind, and fails it."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

MARK = "OPENBOOKS_TEST_RUN"


def mark_this_run() -> None:
    os.environ.setdefault(MARK, uuid.uuid4().hex)


# multiprocessing's helpers of pytest's own process: they read a pipe from it
# and end when it does, so they are not left behind.
ENDS_WITH_PYTEST = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def _parent(status: bytes) -> int:
    line = next((row for row in status.splitlines() if row.startswith(b"PPid:")), b"PPid:\t0")
    return int(line.split()[1])


def _marked(pid: int, token: bytes) -> str | None:
    proc = Path("/proc") / str(pid)
    try:
        status = (proc / "status").read_bytes()
        if b"\nState:\tZ" in status:
            return None
        if token not in (proc / "environ").read_bytes().split(b"\0"):
            return None
        command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    if _parent(status) == os.getpid() and any(helper in command for helper in ENDS_WITH_PYTEST):
        return None
    return command


def still_running(grace_seconds: float = 15.0) -> dict[int, str]:
    """The run's processes other than this one, after ``grace_seconds`` for
    those being stopped to go."""
    token = f"{MARK}={os.environ[MARK]}".encode()
    deadline = time.monotonic() + grace_seconds
    while True:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                command = _marked(int(entry.name), token)
                if command:
                    found[int(entry.name)] = command
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)
