"""Running on a schedule: ``openbooks serve`` and ``openbooks deploy``."""

from __future__ import annotations

from typing import Annotated

import typer

from openbooks.cli import terminal
from openbooks.cli.program import ConfigOption, app, parse_day
from openbooks.cli.server import server_app
from openbooks.config import DEFAULT_CONFIG, load_config


def echo(message: object) -> None:
    """A progress line from the server side, printed as text."""
    terminal.console.print(message, soft_wrap=True)


@app.command()
def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    cron: Annotated[str | None, typer.Option(help="Cron expression instead of schedule.cron.")] = None,
    interval: Annotated[float | None, typer.Option(help="Run every N seconds instead (for trying it out).")] = None,
    day: Annotated[str | None, typer.Option(
        "--day", help="Book this day (YYYY-MM-DD) every run instead of the day that just ended (try: 2025-02-27).")] = None,
    day_offset: Annotated[int, typer.Option(
        "--day-offset", help="Book the day N days before the one that just ended (logs that land late).")] = 0,
) -> None:
    """Run the day that just ended on the config's schedule, until stopped (Ctrl-C or SIGTERM).

    Uses the Prefect server at PREFECT_API_URL, or starts a local one (127.0.0.1) for as long as it runs."""
    cfg = load_config(config)
    from openbooks.flows.serve import run_serve

    run_serve(cfg, cron=cron, interval=interval, day=parse_day(day, "--day") if day else None,
              day_offset=day_offset, echo=echo)


@app.command()
def deploy(
    config: ConfigOption = DEFAULT_CONFIG,
    pool: Annotated[str, typer.Option(help="Process work pool the worker polls.")] = "openbooks",
) -> None:
    """Register the daily and backfill flows with the Prefect server at PREFECT_API_URL, for a worker."""
    cfg = load_config(config)
    from openbooks.flows.serve import run_deploy

    run_deploy(cfg, pool=pool, echo=echo)


app.add_typer(server_app, name="server")
