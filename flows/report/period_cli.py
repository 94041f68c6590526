"""``openbooks report --start D1 --end D2 | --month YYYY-MM | --week YYYY-Www
--format md|html|csv|json``: a period statement from the published tables.

A plain function, for the CLI's ``report`` command to call when a period is
given (``--date`` keeps rebuilding one day's page)."""

from __future__ import annotations

from pathlib import Path

from openbooks.flows.report.period import parse_period, period_statement
from openbooks.flows.report.period_page import FORMATS, incomplete_note, write_statement
from openbooks.config import load_config
from openbooks.errors import OpenbooksError


def report_period(config_path: str | Path, *, start: str | None = None, end: str | None = None,
                  month: str | None = None, week: str | None = None, fmt: str = "md") -> tuple[Path, str]:
    """Write the period's statement under the report directory; returns its
    path and a note naming the days not published ('' when complete)."""
    if fmt not in FORMATS:
        raise OpenbooksError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    config = load_config(config_path)
    of = parse_period(start, end, month, week)
    stmt = period_statement(config, of)
    if stmt.days.filter(stmt.days["status"] == "published").height == 0:
        raise OpenbooksError(f"no day from {of.start} to {of.end} is published in {config.warehouse_path}: "
                             f"run them first (openbooks backfill --start {of.start} --end {of.end})")
    return write_statement(config.report_dir / "periods", stmt, fmt), incomplete_note(stmt)
