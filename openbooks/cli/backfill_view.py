"""The terminal side of ``openbooks backfill``: a progress bar while days
run, then one summary row per day."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from openbooks.config import Config


def run_with_progress(console: Console, config: Config, days: list[date], runner: str | None = None,
                      data_docs: bool = False) -> list:
    """Run the days with a live progress bar (done, failed, ETA); returns the
    outcomes. The days run as one set (``flows.range_books``), which
    reports them all at its end."""
    from openbooks.flows.backfill import DayOutcome, listening, run_backfill

    failed = 0
    columns = (
        TextColumn("[bold]backfill[/bold]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("days · [red]{task.fields[failed]} failed[/red] · last {task.fields[last]}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("days", total=len(days), failed=0, last="-")

        def advance(outcome: DayOutcome) -> None:
            nonlocal failed
            failed += outcome.failed
            progress.update(bar, advance=1, failed=failed, last=f"{outcome.day} {outcome.status}")

        with listening(advance):
            return run_backfill(days, str(config.file), data_docs, runner)


def summary_table(outcomes: list) -> Table:
    """Day, status, cost, revenue, margin and, for a failed day, the first line of its reason."""
    table = Table(title="backfill summary", title_justify="left")  # cells are Text: data never read as markup
    for name, justify in (("day", "left"), ("status", "left"), ("GPU cost", "right"), ("revenue", "right"),
                          ("cost profit margin", "right"), ("reason", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for o in outcomes:
        f = o.figures or {}
        money = [f"${f[k]:,.0f}" if f.get(k) is not None else "" for k in ("gpu_cost_usd", "theoretical_revenue_usd")]
        margin = f"{f['cost_profit_margin']:.0%}" if f.get("cost_profit_margin") is not None else ""
        reason = ""
        if o.reason:
            lines = o.reason.splitlines()
            reason = lines[0] + (f" (+{len(lines) - 1} more lines in run_log.error)" if len(lines) > 1 else "")
        style = {"failed": "red", "unchanged": "dim"}.get(o.status, "green")
        table.add_row(str(o.day), Text(o.status, style=style), *(Text(cell) for cell in (*money, margin, reason)))
    return table
