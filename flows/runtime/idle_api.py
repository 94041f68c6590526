"""``prefect server start`` that ends by itself: the project's shared local API.

Run as ``python -m openbooks.flows.runtime.idle_api <state dir> <idle seconds> prefect
server start ...``. It starts Prefect's own server in this process, with one
addition to its web app: each request notes the time. A watcher thread ends
the server (SIGTERM to this process, which uvicorn handles as a clean stop)
when no request came for ``idle seconds``, or as soon as the state folder (the
project's ``.prefect/``) is gone: a server never outlives the project it
belongs to, nor idles for hours after the last command.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

CHECK_EVERY = 2.0


class Activity:
    """The time of the last request (monotonic seconds); None while starting
    (a server that never gets ready is stopped by the command waiting for it)."""

    def __init__(self) -> None:
        self.last: float | None = None

    def touch(self) -> None:
        self.last = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.last is None else time.monotonic() - self.last


def noting(app, activity: Activity):
    """``app`` (ASGI) with each HTTP or websocket request noted in ``activity``,
    and the end of its startup (the idle time counts from when it can answer)."""

    async def wrapped(scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            activity.touch()
            return await app(scope, receive, send)

        async def send_noting_startup(message):
            if message.get("type") == "lifespan.startup.complete":
                activity.touch()
            await send(message)

        await app(scope, receive, send_noting_startup)

    return wrapped


def reason_to_stop(activity: Activity, state: Path, idle_seconds: float) -> str | None:
    """Why the server should end now, or None."""
    if not state.is_dir():
        return f"its state folder {state} is gone"
    if activity.idle_for() >= idle_seconds:
        return f"no request for {idle_seconds:g} s (OPENBOOKS_API_IDLE_MINUTES)"
    return None


def watch(activity: Activity, state: Path, idle_seconds: float) -> None:
    """Until a reason to stop: then say it and SIGTERM this process."""
    while True:
        time.sleep(CHECK_EVERY)
        reason = reason_to_stop(activity, state, idle_seconds)
        if reason:
            print(f"openbooks: stopping the local Prefect API: {reason}", flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            return


def patch_create_app(activity: Activity) -> None:
    """Prefect's ``create_app`` returning the app wrapped by ``noting``."""
    import prefect.server.api.server as server

    original = server.create_app

    def create_app(*args, **kwargs):
        return noting(original(*args, **kwargs), activity)

    server.create_app = create_app


def main(argv: list[str]) -> None:
    state, idle_seconds, prefect_args = Path(argv[0]), float(argv[1]), argv[2:]
    activity = Activity()
    patch_create_app(activity)
    threading.Thread(target=watch, args=(activity, state, idle_seconds), daemon=True).start()
    from prefect.cli import app

    sys.argv = prefect_args
    app()


if __name__ == "__main__":
    main(sys.argv[1:])
