"""Computing days: ``openbooks run`` (one day) and ``openbooks backfill`` (a range)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from openbooks.cli import terminal
from openbooks.cli.program import ConfigOption, DayOption, app, parse_day
from openbooks.config import DEFAULT_CONFIG, load_config


def figures_table(row: dict[str, Any], title: str) -> Table:
    """A day's headline figures, one per line."""
    from openbooks.flows.report import figure_rows

    table = Table(title=Text(title), show_header=False, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in figure_rows(row):
        table.add_row(Text(label), Text(value))
    return table


def run_through_api_loss(cfg, the_day, run_day):
    """``run_day()``'s row; if the Prefect API went away mid-run, one line
    saying the day's state (None when published: no failure to report)."""
    from openbooks.errors import OpenbooksError
    from openbooks.flows.runtime.api_loss import api_loss_outcome, is_api_loss, watching_local_api

    with watching_local_api(cfg) as watch:
        try:
            return run_day()
        except Exception as exc:  # noqa: BLE001 - only the API's going away is taken here
            if not (is_api_loss(exc) or (watch.lost and not isinstance(exc, OpenbooksError))):
                raise
            done, line = api_loss_outcome(cfg, the_day, exc)
    if not done:
        raise OpenbooksError(line) from None
    terminal.say(f"warning: {line}")
    return None


@app.command()
def run(
    day: DayOption,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Compute, validate and publish one business day, then print its figures."""
    cfg = load_config(config)
    the_day = parse_day(day)
    from openbooks.flows.checks.validate import elsewhere

    with elsewhere():  # GX starts in a process of its own while this one starts Prefect
        from openbooks.flows.runtime.prefect_api import use_local_api, without_heartbeats

        use_local_api(cfg)
        from openbooks.flows.daily import daily_books

        with terminal.console.status(f"running {the_day}…"), without_heartbeats():
            row = run_through_api_loss(cfg, the_day, lambda: daily_books(the_day, str(cfg.file)))
        if row is None:
            return
    from openbooks.flows.report import report_paths

    outcome = row.get("status", "published")  # unchanged: the figures were published already
    terminal.console.print(figures_table(row, f"openbooks {the_day} ({outcome})"))
    terminal.say(f"run {row['run_id']}")  # on its own line: the table stays within 80 columns
    from openbooks.flows.checks.anomalies import published_anomalies
    from openbooks.flows.report.anomaly_lines import descriptions

    for line in row.get("notes", []):
        terminal.say(line)
    found = descriptions(published_anomalies(cfg, the_day))
    for line in [f"{len(found)} anomal{'y' if len(found) == 1 else 'ies'} (against the trailing median):", *found] if found else []:
        terminal.say(line)
    md, html = report_paths(cfg.report_dir, the_day.isoformat())
    terminal.say(f"report: {md}  {html}")


def note_stale_anomalies(cfg, outcomes) -> None:
    """After ``--only-failed``: the later published days whose anomaly history
    did not include the days just fixed, and the command that recomputes them."""
    from openbooks.flows.backfill import stale_anomaly_days

    later = stale_anomaly_days(cfg, outcomes)
    if later:
        terminal.say(f"note: {len(later)} later published day(s), {later[0]} to {later[-1]}, had their anomalies found "
                     f"without the day(s) just fixed; recompute them with: openbooks backfill --start {later[0]} "
                     f"--end {later[-1]}")


def _days_between(cfg, start: str, end: str, only_failed: bool) -> list:
    """The days from ``start`` to ``end``; with ``only_failed``, those whose last run failed."""
    from openbooks.flows.backfill import days_between, failed_days

    days = days_between(parse_day(start, "--start"), parse_day(end, "--end"))
    return failed_days(cfg, days) if only_failed else days


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="First business day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last business day, YYYY-MM-DD (included).")],
    only_failed: Annotated[bool, typer.Option("--only-failed", help="Only the days whose last run failed.")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    runner: Annotated[str | None, typer.Option(
        "--runner", help="Where each day's books, charts and page are computed: local (processes of this machine, "
        "the default; compute.runner), inline, or a Dask scheduler, dask://host:8786 (pip install -e '.[dask]').",
    )] = None,
    data_docs: Annotated[bool, typer.Option(
        "--data-docs", help="GX Data Docs pages of every suite (else only a failed day's).",
    )] = False,
) -> None:
    """Run every business day from --start to --end as one set (each day its own run); exit 1 if any day failed."""
    cfg = load_config(config)
    from openbooks.flows.checks.validate import elsewhere

    with elsewhere():  # GX starts in a process of its own while this one starts Prefect
        days = _days_between(cfg, start, end, only_failed)
        if not days:
            terminal.say(f"no failed day between {start} and {end}: nothing to re-run")
            return
        from openbooks.flows.runtime.prefect_api import use_local_api, without_heartbeats
        from openbooks.cli.backfill_view import run_with_progress

        use_local_api(cfg)
        with without_heartbeats():
            outcomes = run_with_progress(terminal.console, cfg, days, runner, data_docs)
    from openbooks.cli.backfill_view import summary_table

    terminal.console.print(summary_table(outcomes))
    if only_failed:
        note_stale_anomalies(cfg, outcomes)
    failed = [o for o in outcomes if o.failed]
    if failed:
        terminal.error_lines(f"{len(failed)} of {len(outcomes)} day(s) failed; after fixing, re-run them "
                             f"with: openbooks backfill --start {start} --end {end} --only-failed")
        raise typer.Exit(1)
