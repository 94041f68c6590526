"""Published books read back from the warehouse, for the reports: a day's
tables and the run that published it, a period's tables, the daily rows."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import polars as pl

from openbooks.flows.store.warehouse import frame
from openbooks.transforms import forecast


def read_day(con: duckdb.DuckDBPyConnection, day: date, names: tuple[str, ...]) -> dict[str, pl.DataFrame]:
    """Each of ``names`` (the report's: ``report.sections.TABLES``) that the warehouse
    has, the day's rows in the order the run published them. An empty
    ``daily_economics``: not published."""
    held = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    return {name: frame(con, f"SELECT * FROM {name} WHERE day = ? ORDER BY rowid", [day])
            for name in names if name in held}


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


def all_daily(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every published ``daily_economics`` row, by day."""
    return frame(con, "SELECT * FROM daily_economics ORDER BY day")


def daily_between(con: duckdb.DuckDBPyConnection, start: date, end: date,
                  columns: tuple[str, ...] = ("*",)) -> pl.DataFrame:
    """``columns`` of the published ``daily_economics`` rows from ``start`` to ``end``."""
    return frame(con, f"SELECT {', '.join(columns)} FROM daily_economics WHERE day BETWEEN ? AND ? ORDER BY day",
                 [start, end])


def budget_breaks(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pl.DataFrame:
    """The budget rows published in the anomalies table from ``start`` to ``end``."""
    return frame(con, "SELECT * EXCLUDE (run_id) FROM anomalies WHERE kind LIKE 'budget%' AND day BETWEEN ? AND ? "
                      "ORDER BY day, rowid", [start, end])


def period_tables(con: duckdb.DuckDBPyConnection, start: date, end: date,
                  names: tuple[str, ...]) -> dict[str, pl.DataFrame]:
    """The published rows of ``start``..``end`` of each of ``names`` (the tables a statement reads),
    and each day's latest run (``last_runs``)."""
    tables = {
        name: frame(con, f"SELECT * FROM {name} WHERE day BETWEEN ? AND ? ORDER BY day, rowid", [start, end])
        for name in names
    }
    if frame(con, "SELECT 1 FROM information_schema.tables WHERE table_name = 'scenario_economics'").height:
        tables["scenario_economics"] = frame(
            con, "SELECT * FROM scenario_economics WHERE day BETWEEN ? AND ? AND model = 'all' ORDER BY day, rowid",
            [start, end])
    tables["forecast_days"] = frame(
        con, f"SELECT day, {', '.join(forecast.FIGURES)} FROM daily_economics WHERE day BETWEEN ? AND ? ORDER BY day",
        [start - timedelta(weeks=forecast.SHAPE_WEEKS), end])
    tables["last_runs"] = frame(
        con, "SELECT day, status FROM run_log WHERE day BETWEEN ? AND ? "
             "QUALIFY row_number() OVER (PARTITION BY day ORDER BY started_at DESC) = 1", [start, end])
    return tables


def _linked_customers(top: int) -> str:
    """The customers a day's page names: its top ``top`` by billed revenue and by loss, every day of each."""
    return f"""
    WITH ranked AS (
        SELECT customer_id,
            row_number() OVER (PARTITION BY day ORDER BY billed_revenue_usd DESC NULLS LAST, customer_id) AS by_revenue,
            row_number() OVER (PARTITION BY day, margin_usd < 0 ORDER BY margin_usd, customer_id) AS by_loss,
            margin_usd < 0 AS loss
        FROM customer_economics)
    SELECT * FROM customer_economics WHERE customer_id IN (
        SELECT customer_id FROM ranked WHERE by_revenue <= {int(top)} OR (loss AND by_loss <= {int(top)}))
    ORDER BY customer_id, day"""


def named_rows(con: duckdb.DuckDBPyConnection, top: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every model's days, and every day of each customer a day's page names (its ``top``)."""
    held = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    models = (frame(con, "SELECT * FROM model_economics ORDER BY model, day") if "model_economics" in held
              else pl.DataFrame())
    customers = frame(con, _linked_customers(top)) if "customer_economics" in held else pl.DataFrame()
    return models, customers
