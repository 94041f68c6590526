"""Anomalies of published days, computed from the warehouse's daily rows
(``transforms.anomalies``) and described in one line each."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from flows.report.format import format_value
from flows.report.sections.in_depth import IN_DEPTH_FIGURES
from flows.report.sections.figures import FIGURES
from flows.warehouse import frame
from transforms.anomalies import POINTS, SCHEMA, day_anomalies

WINDOW_DAYS = 28
LABELS = {key: (label.strip(), fmt) for key, label, fmt in FIGURES + IN_DEPTH_FIGURES}
LABELS["idle_capacity_share"] = ("Idle capacity share", "{:.1%}")


def anomalies_between(con: duckdb.DuckDBPyConnection, start: date, end: date,
                      window_days: int = WINDOW_DAYS) -> pl.DataFrame:
    """The anomalies of each published day from ``start`` to ``end``."""
    daily = frame(con, "SELECT * FROM daily_economics WHERE day BETWEEN ? AND ? ORDER BY day",
                  [start - timedelta(days=window_days), end])
    days = daily.filter(pl.col("day") >= start)["day"].to_list()
    found = [day_anomalies(daily, day, window_days=window_days) for day in days]
    return pl.concat(found) if found else pl.DataFrame(schema=SCHEMA)


def describe(row: dict) -> str:
    """``2025-02-27 Gross margin 70.0% against a median of 84.0% over 7 days (-14.0 pts, threshold 5.0)``."""
    label, fmt = LABELS.get(row["figure"], (row["figure"], "{:,.4g}"))
    if row["kind"] == POINTS:
        moved, limit = f"{row['move'] * 100:+.1f} pts", f"{row['threshold'] * 100:.1f} pts"
    else:
        moved, limit = f"{row['move']:+.1%}", f"{row['threshold']:.0%}"
    return (f"{row['day']} {label} {format_value(row['value'], fmt)} against a median of "
            f"{format_value(row['median'], fmt)} over {row['window_days']} days ({moved}, threshold {limit})")


def descriptions(anomalies: pl.DataFrame) -> list[str]:
    return [describe(row) for row in anomalies.iter_rows(named=True)]


def anomalies_of_run(config, daily: pl.DataFrame, window_days: int = WINDOW_DAYS) -> pl.DataFrame:
    """The anomalies of a day being run (its computed ``daily`` row) against
    the published days before it: for its report, before it is published."""
    from flows.warehouse import session

    day = daily["day"][0]
    with session(config) as con:  # a writing session: it takes turns with a backfill's other days
        history = frame(con, "SELECT * FROM daily_economics WHERE day BETWEEN ? AND ? ORDER BY day",
                        [day - timedelta(days=window_days), day - timedelta(days=1)])
    columns = [c for c in daily.columns if c in history.columns]
    rows = pl.concat([history.select(columns), daily.select(columns)], how="vertical_relaxed")
    return day_anomalies(rows, day, window_days=window_days)
