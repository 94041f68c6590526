"""``openbooks server start|status|stop``: the project's local Prefect API by hand.

Commands that run flows start it themselves on first use (see
``flows.prefect_api``); these are for starting it ahead of time, seeing where
it is (for the Prefect UI, or ``PREFECT_API_URL`` of a worker) and stopping it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openbooks.config import DEFAULT_CONFIG, load_config

server_app = typer.Typer(
    name="server", help="The project's local Prefect API: start, status, stop.", no_args_is_help=True,
)
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Config file.", show_default=True)]


def _print(line: str) -> None:
    print(line, flush=True)  # plain text: paths and URLs are data


@server_app.command("start")
def start(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Start the local Prefect API (if it does not run yet) and print its URL."""
    from openbooks.flows.runtime.prefect_api import ensure_server, user_api_url

    cfg = load_config(config)
    url = user_api_url()
    if url:
        _print(f"note: PREFECT_API_URL is set ({url}): commands use that server, not this one")
    server, started = ensure_server(cfg)
    _print(f"{'started' if started else 'running'}: {server.url} (pid {server.pid}, log {server.log})")


@server_app.command("status")
def status(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Where the local Prefect API is and whether it answers; exit 1 if it does not run."""
    from openbooks.flows.runtime.prefect_api import running_server, state_dir
    from openbooks.flows.runtime.prefect_server import healthy, idle_minutes

    server = running_server(state_dir(load_config(config)))
    if server is None:
        _print("not running (the next run or backfill starts it)")
        raise typer.Exit(1)
    answer = "healthy" if healthy(server.url) else "not answering yet"
    _print(f"running: {server.url} (pid {server.pid}, {answer}, log {server.log})")
    _print(f"Prefect UI: {server.url.removesuffix('/api')}")
    _print(f"it stops by itself after {idle_minutes():g} min without a request (OPENBOOKS_API_IDLE_MINUTES)")


@server_app.command("stop")
def stop(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Stop the local Prefect API (its run history stays for the next start)."""
    from openbooks.flows.runtime.prefect_api import stop_server

    server = stop_server(load_config(config))
    _print(f"stopped: {server.url} (pid {server.pid})" if server else "not running: nothing to stop")
