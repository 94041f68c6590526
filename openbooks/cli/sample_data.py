"""Data to try openbooks on: ``openbooks sample`` (the bundled logs) and
``openbooks gen`` (request-level logs of any size)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openbooks.cli import terminal
from openbooks.cli.program import DayOption, app, parse_day
from openbooks.errors import OpenbooksError


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--output", "--out", "-o", help="Directory to write the sample logs to.")] = (
        Path("data/sample")
    ),
    start: Annotated[str | None, typer.Option("--start", help="First day of a range, YYYY-MM-DD (with --days).")] = (
        None
    ),
    days: Annotated[int | None, typer.Option("--days", help="Consecutive days from --start.")] = None,
) -> None:
    """Write the bundled sample logs: DeepSeek's published day and the week before it
    (or, with --start and --days, that many consecutive days in the same style)."""
    from openbooks.sample import consecutive_days, write_sample

    if (start is None) != (days is None):
        raise OpenbooksError("--start and --days go together: give both, or neither for the bundled week")
    if days is not None and days < 1:
        raise OpenbooksError(f"--days {days}: expected 1 or more")
    written = write_sample(out, None if start is None else consecutive_days(parse_day(start, "--start"), days))
    terminal.say(f"wrote {len(written)} files under {out}")


@app.command()
def gen(
    requests: Annotated[float, typer.Option("--requests", "-r", help="Requests in the day, e.g. 1e8.")],
    day: DayOption,
    out: Annotated[Path, typer.Option(
        "--output", "--out", "-o", help="Directory to write requests/{day}/ and node_log/{day}.csv under.")],
    files: Annotated[int, typer.Option("--files", "-k", help="Parquet files to split the day into.")] = 1,
    format: Annotated[str, typer.Option("--format", "-F", help="parquet or csv.")] = "parquet",
    seed: Annotated[int, typer.Option(help="Another seed gives other requests.")] = 0,
    full_fleet: Annotated[bool, typer.Option(
        "--full-fleet", help="Write the whole sample fleet's node log, not the share N requests need.")] = False,
) -> None:
    """Write N request-level log rows for a day (and its node log: the sample
    fleet scaled to N requests, so the day books as the published one), for trials and benchmarks."""
    if format not in ("parquet", "csv"):
        raise OpenbooksError(f"--format {format!r}: expected parquet or csv")
    if requests < 1 or requests != int(requests):
        raise OpenbooksError(f"--requests {requests:g}: expected a whole number >= 1")
    from openbooks.generate import write_day

    with terminal.console.status(f"writing {int(requests):,} requests…"):
        written = write_day(parse_day(day), int(requests), out, files=files, fmt=format, seed=seed,
                            scale_fleet=not full_fleet)
    from openbooks.generate import fleet_share

    share = "the whole sample fleet" if full_fleet else f"{fleet_share(int(requests)):.2%} of the sample fleet"
    terminal.say(f"wrote {len(written) - 1} request file(s) and a node log ({share}) under {out}")
