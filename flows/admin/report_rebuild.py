"""A day's report rebuilt from its published tables, without recomputing."""

from __future__ import annotations

import glob
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from openbooks.flows import report
from openbooks.flows.report.headline import COLUMNS as HEADLINE_COLUMNS
from openbooks.flows.report.headline import headline_of, headline_window
from openbooks.flows.report.sections import TABLES
from openbooks.flows.report.sections.headline import HEADLINE
from openbooks.flows.store import published as report_tables
from openbooks.flows.store.warehouse import session
from openbooks.config import Config
from openbooks.errors import OpenbooksError


def published_day(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, pl.DataFrame]:
    """The tables ``day``'s report shows, as published, with its headline strip
    against the published days before it."""
    tables = report_tables.read_day(con, day, TABLES)
    if tables.get("daily_economics") is not None and tables["daily_economics"].height:
        history = report_tables.daily_between(con, *headline_window(day, day), HEADLINE_COLUMNS)
        tables[HEADLINE] = headline_of(history, day)
    return tables


def rebuild_report(config: Config, day: date) -> tuple[Path, Path]:
    """Render and write ``day``'s report from the published tables (no recomputing)."""
    with session(config, read_only=True) as con:
        tables = published_day(con, day)
        if tables["daily_economics"].is_empty():
            raise OpenbooksError(f"{day} is not published in {config.warehouse_path}: run it first (openbooks run --date {day})")
        run_id, config_hash, validation = report_tables.context_of(con, tables["daily_economics"])
        skipped = report_tables.skipped_of(con, run_id)
    context = report.Context(config.business_day.timezone, run_id, config_hash, datetime.now(UTC), validation,
                             data_docs_pages(config, run_id), skipped)
    return report.write_report(config.report_dir, report.render_day(tables, context))


def data_docs_pages(config: Config, run_id: str) -> dict[str, str]:
    """The run's GX Data Docs pages (suite → path relative to the report directory)."""
    docs = config.report_dir / "data_docs" / "validations"
    pages = [Path(p) for p in glob.glob(str(docs / "*" / glob.escape(run_id) / "*" / "*.html"))]
    pages.sort(key=lambda p: p.parent.name)  # the validation time: in the order the run validated
    return {p.relative_to(docs).parts[0]: p.relative_to(config.report_dir).as_posix() for p in pages}
