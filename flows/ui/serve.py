"""Serving the UI with uvicorn, after checking the bind address and warming the Vega bundle."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from openbooks.config import Config
from openbooks.errors import OpenbooksError
from openbooks.flows.ui import assets
from openbooks.flows.ui.access import check_bind, ui_token
from openbooks.flows.ui.app import create_app


def bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OpenbooksError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})")
    return sock


def serve_ui(config: Config, host: str, port: int, say: Callable[[str], None]) -> None:
    """Serve until interrupted. The socket is bound first, so the printed address is the real one."""
    check_bind(host)
    if not config.warehouse_path.exists():
        say(f"note: no warehouse at {config.warehouse_path} yet; pages say so until a day is run")
    sock = bound_socket(host, port)
    assets.vega_bundle()  # built once, before the first page asks for it
    shown = f"[{host}]" if ":" in host else host
    say(f"openbooks ui: http://{shown}:{sock.getsockname()[1]}/ (Ctrl-C to stop)")
    if ui_token():
        say("every request must carry OPENBOOKS_UI_TOKEN (open the address once with ?token=...)")
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=5))
    server.run(sockets=[sock])
