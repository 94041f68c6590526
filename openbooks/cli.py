"""The ``openbooks`` command line.

One error boundary (``main``): an ``OpenbooksError`` prints as red lines and
exits 1; any other exception prints one line and a hint; tracebacks only with
``--debug``. Prefect and GX are imported inside the commands that need them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table

from openbooks.config import DEFAULT_CONFIG, load_config
from openbooks.errors import OpenbooksError

app = typer.Typer(
    name="openbooks",
    help="Daily unit economics for AI model serving, from your own GPU and token logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Config file.", show_default=True)
]
DayOption = Annotated[
    str, typer.Option("--date", "-d", help="Business day, YYYY-MM-DD (the date it starts on).")
]


def parse_day(value: str, option: str = "--date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OpenbooksError(f"{option} {value!r}: expected a date as YYYY-MM-DD")


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's run logs.")] = False,
) -> None:
    if not verbose:
        # The CLI reports a failed run itself, in one line; Prefect's own
        # failure log (with its traceback) is for --verbose.
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")


def print_figures(row: dict[str, Any], title: str) -> None:
    from flows.report import figure_rows

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in figure_rows(row):
        table.add_row(label, value)
    console.print(table)


@app.command()
def run(
    day: DayOption,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Compute, validate and publish one business day, then print its figures."""
    cfg = load_config(config)
    the_day = parse_day(day)
    from flows.prefect_api import use_local_api  # startup: the project's shared local Prefect API
    use_local_api(cfg)  # startup
    from flows.daily import daily_books
    from flows.report import report_paths

    with console.status(f"running {the_day}…"):
        row = daily_books(the_day, str(cfg.file))
    outcome = row.get("status", "published")  # unchanged: the figures were published already
    print_figures(row, f"openbooks {the_day} ({outcome}, run {row['run_id']})")
    md, html = report_paths(cfg.report_dir, the_day.isoformat())
    console.print(f"report: {md}  {html}")


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="First business day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last business day, YYYY-MM-DD (included).")],
    workers: Annotated[int, typer.Option("--workers", "-w", help="Days computed at once (writes take turns).")] = 1,
    only_failed: Annotated[bool, typer.Option("--only-failed", help="Only the days whose last run failed.")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    runner: Annotated[str | None, typer.Option(
        "--runner", help="process (default with --workers > 1), thread, dask-local, a Dask scheduler address "
        "(tcp://host:8786; pip install -e '.[dask]'), or module:attribute naming a TaskRunner.",  # startup: Dask
    )] = None,
) -> None:
    """Run every business day from --start to --end, each its own flow run; exit 1 if any day failed."""
    cfg = load_config(config)
    from flows.backfill import days_between, failed_days
    from openbooks.backfill_view import run_with_progress, summary_table

    days = days_between(parse_day(start, "--start"), parse_day(end, "--end"))
    if only_failed:
        days = failed_days(cfg, days)
        if not days:
            console.print(f"no failed day between {start} and {end}: nothing to re-run")
            return
    from flows.prefect_api import use_local_api  # startup: the project's shared local Prefect API
    use_local_api(cfg)  # startup
    outcomes = run_with_progress(console, cfg, days, workers, runner)
    console.print(summary_table(outcomes))
    failed = [o for o in outcomes if o.failed]
    if failed:
        err.print(f"[red]error:[/red] {len(failed)} of {len(outcomes)} day(s) failed; after fixing, re-run them "
                  f"with: openbooks backfill --start {start} --end {end} --only-failed", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@app.command()
def query(
    sql: Annotated[str | None, typer.Argument(help="SQL to run (read-only); '-' or none reads stdin.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the SQL from this file.")] = None,
    saved: Annotated[str | None, typer.Option("--saved", "-s", help="Run configs/queries/NAME.sql.")] = None,
    format: Annotated[str, typer.Option("--format", "-F", help="table, csv, json or parquet.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Answer a SQL query from the warehouse through a read-only connection.

    The SQL comes from the argument, --file, --saved NAME or stdin."""
    if format not in ("table", "csv", "json", "parquet"):
        raise OpenbooksError(f"--format {format!r}: expected table, csv, json or parquet")
    if format == "parquet" and output is None:
        raise OpenbooksError("--format parquet needs --output PATH")
    cfg = load_config(config)
    from flows.queries import run_query, saved_query, write_parquet

    given = [name for name, value in (("SQL", sql not in (None, "-")), ("--file", file), ("--saved", saved)) if value]
    if len(given) > 1:
        raise OpenbooksError(f"give the SQL one way, not {' and '.join(given)}")
    if saved:
        text = saved_query(cfg, saved)
    elif file:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise OpenbooksError(f"--file {file}: cannot read ({exc.strerror})")
    elif sql not in (None, "-"):
        text = sql
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        raise OpenbooksError("no SQL: give it as an argument, with --file, --saved NAME or on stdin")
    if not text.strip():
        raise OpenbooksError("no SQL: the query is empty")
    if format == "parquet":
        rows = write_parquet(cfg, text, output)
        console.print(f"wrote {rows} row(s) to {output}")
        return
    columns, rows = run_query(cfg, text)
    if format == "table" and output is None:
        console.print(rich_table(columns, rows))
        return
    rendered = render_rows(columns, rows, format) if format != "table" else _plain_table(columns, rows)
    if output is None:
        sys.stdout.write(rendered)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(rendered, encoding="utf-8")
        console.print(f"wrote {len(rows)} row(s) to {output}")


def _plain_table(columns: list[str], rows: list[tuple]) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(rich_table(columns, rows))
    return buffer.getvalue()


def rich_table(columns: list[str], rows: list[tuple]) -> Table:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def render_rows(columns: list[str], rows: list[tuple], format: str) -> str:
    if format == "json":
        return json.dumps([dict(zip(columns, row)) for row in rows], default=str, indent=2) + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


@app.command()
def sample(
    out: Annotated[Path, typer.Option(help="Directory to write the sample logs to.")] = Path("data/sample"),
    start: Annotated[str | None, typer.Option("--start", help="First day of a range, YYYY-MM-DD (with --days).")] = (
        None
    ),
    days: Annotated[int | None, typer.Option("--days", "-n", help="Consecutive days from --start.")] = None,
) -> None:
    """Write the bundled sample logs: DeepSeek's published day and the week before it
    (or, with --start and --days, that many consecutive days in the same style)."""
    from openbooks.sample import consecutive_days, write_sample

    if (start is None) != (days is None):
        raise OpenbooksError("--start and --days go together: give both, or neither for the bundled week")
    if days is not None and days < 1:
        raise OpenbooksError(f"--days {days}: expected 1 or more")
    written = write_sample(out, None if start is None else consecutive_days(parse_day(start, "--start"), days))
    console.print(f"wrote {len(written)} files under {out}")


@app.command()
def gen(
    requests: Annotated[float, typer.Option("--requests", "-n", help="Requests in the day, e.g. 1e8.")],
    day: DayOption,
    out: Annotated[Path, typer.Option(help="Directory to write requests/{day}/ and node_log/{day}.csv under.")],
    files: Annotated[int, typer.Option("--files", "-k", help="Parquet files to split the day into.")] = 1,
    format: Annotated[str, typer.Option("--format", "-f", help="parquet or csv.")] = "parquet",
    seed: Annotated[int, typer.Option(help="Another seed gives other requests.")] = 0,
) -> None:
    """Write N request-level log rows for a day (and its node log), for trials and benchmarks."""
    if format not in ("parquet", "csv"):
        raise OpenbooksError(f"--format {format!r}: expected parquet or csv")
    if requests < 1 or requests != int(requests):
        raise OpenbooksError(f"--requests {requests:g}: expected a whole number >= 1")
    from openbooks.generate import write_day

    with console.status(f"writing {int(requests):,} requests…"):
        written = write_day(parse_day(day), int(requests), out, files=files, fmt=format, seed=seed)
    console.print(f"wrote {len(written) - 1} request file(s) and a node log under {out}")


@app.command()
def status(
    config: ConfigOption = DEFAULT_CONFIG,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs.")] = 20,
) -> None:
    """The latest runs from run_log: day, status, when, duration, config hash and reason."""
    cfg = load_config(config)
    from flows.operator import STATUS_COLUMNS, recent_runs

    rows = recent_runs(cfg, limit)
    if not rows:
        console.print("no runs yet: openbooks run --date YYYY-MM-DD")
        return
    table = rich_table(list(STATUS_COLUMNS), rows)
    table.title, table.title_justify = f"last {len(rows)} run(s), newest first", "left"
    console.print(table)


@app.command()
def report(
    day: DayOption,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Rebuild a day's report from the published tables, without recomputing it."""
    cfg = load_config(config)
    the_day = parse_day(day)
    from flows.operator import rebuild_report

    md, html = rebuild_report(cfg, the_day)
    console.print(f"report: {md}  {html}")


@app.command()
def check(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Check the config, the sources it points at and the expectation suites; runs nothing."""
    from flows.operator import check_project

    result = check_project(config)
    for line in result.checked:
        console.print(f"[green]ok[/green] {line}", highlight=False, soft_wrap=True)
    if result.problems:
        raise OpenbooksError("\n".join([f"{len(result.problems)} problem(s):", *result.problems]))
    console.print("no problems found")


@app.command()
def tables() -> None:
    """The warehouse tables: columns, types and what each one holds."""
    from flows.operator import table_rows

    table = None
    for name, column, type_, description in table_rows():
        if name:  # a new table: its own grid, titled with its name and what it holds
            if table is not None:
                console.print(table)
            table = Table("column", "type", "description", title=f"[bold]{name}[/bold]: {description}",
                          title_justify="left")
            table.columns[0].no_wrap = table.columns[1].no_wrap = True
        else:
            table.add_row(column, type_, description)
    console.print(table)


@app.command()
def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    cron: Annotated[str | None, typer.Option(help="Cron expression instead of schedule.cron.")] = None,
    interval: Annotated[float | None, typer.Option(help="Run every N seconds instead (for trying it out).")] = None,
) -> None:
    """Run the day that just ended on the config's schedule, until stopped (Ctrl-C or SIGTERM).

    Uses the Prefect server at PREFECT_API_URL, or starts a local one (127.0.0.1) for as long as it runs."""
    cfg = load_config(config)
    from flows.serve import run_serve

    run_serve(cfg, cron=cron, interval=interval, echo=console.print)


@app.command()
def deploy(
    config: ConfigOption = DEFAULT_CONFIG,
    pool: Annotated[str, typer.Option(help="Process work pool the worker polls.")] = "openbooks",
) -> None:
    """Register the daily and backfill flows with the Prefect server at PREFECT_API_URL, for a worker."""
    cfg = load_config(config)
    from flows.serve import run_deploy

    run_deploy(cfg, pool=pool, echo=console.print)


from openbooks.server_commands import server_app  # startup: openbooks server start|status|stop
app.add_typer(server_app, name="server")  # startup


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        code = app(standalone_mode=False)
    except click.exceptions.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except click.exceptions.Abort:
        err.print("[red]aborted[/red]")
        code = 130
    except OpenbooksError as exc:
        if debug:
            traceback.print_exc()
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
        code = 1
    except Exception as exc:  # noqa: BLE001 - the one error boundary
        if debug:
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        err.print(f"[red]error:[/red] {type(exc).__name__}: {first} (run with --debug for the traceback)",
                  highlight=False, soft_wrap=True)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
