"""The ``openbooks`` program: its Typer app, its global options, and the
options and argument parsing that several commands share."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from openbooks.errors import OpenbooksError

app = typer.Typer(
    name="openbooks",
    help="Daily unit economics for AI model serving, from your own GPU and token logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

# Short flags mean one thing in every command: -c --config, -d --date,
# -o --output (a file or directory to write), -F --format, -f --file (read
# from), -n --limit (how many to show), -v --verbose.
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Config file.", show_default=True)]
DayOption = Annotated[str, typer.Option("--date", "-d", help="Business day, YYYY-MM-DD (the date it starts on).")]


def parse_day(value: str, option: str = "--date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OpenbooksError(f"{option} {value!r}: expected a date as YYYY-MM-DD")


@app.callback()
def global_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's run logs.")] = False,
) -> None:
    if not verbose:
        # The CLI reports a failed run itself, in one line; Prefect's own
        # failure log (with its traceback) is for --verbose.
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
