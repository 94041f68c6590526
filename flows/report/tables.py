"""The report's tables of a published day, read back from the warehouse."""

from __future__ import annotations

from datetime import date

import json

import duckdb
import polars as pl

from openbooks.flows.report.headline import headline_of
from openbooks.flows.report.sections import TABLES
from openbooks.flows.report.sections.headline import HEADLINE
from openbooks.flows.warehouse import frame


def read_day(con: duckdb.DuckDBPyConnection, day: date, names: tuple[str, ...] = TABLES) -> dict[str, pl.DataFrame]:
    """Each table the report reads (``sections.TABLES``) that the warehouse
    has, the day's rows in the order the run published them. An empty
    ``daily_economics``: not published."""
    held = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    tables = {name: frame(con, f"SELECT * FROM {name} WHERE day = ? ORDER BY rowid", [day])
              for name in names if name in held}
    if HEADLINE in names and tables.get("daily_economics") is not None and tables["daily_economics"].height:
        tables[HEADLINE] = headline_of(con, day)  # the strip, from the published days before it
    return tables


def context_of(con: duckdb.DuckDBPyConnection, daily: pl.DataFrame) -> tuple[str, str, list[str]]:
    """(run id, config hash, validation lines) of the run that published ``daily``."""
    run_id = daily["run_id"][0]
    summary = con.execute("SELECT validation_summary FROM run_log WHERE run_id = ?", [run_id]).fetchone()
    validation = summary[0].split("; ") if summary and summary[0] else []
    return run_id, daily["config_hash"][0] or "", validation


def skipped_of(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, int]]:
    """The rows the run ``run_id`` left out on purpose (``run_log.skipped_rows``): source → reason → rows."""
    row = con.execute("SELECT skipped_rows FROM run_log WHERE run_id = ?", [run_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}
