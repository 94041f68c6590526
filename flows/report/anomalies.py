"""Anomalies of published days, computed from the warehouse's daily rows
(``transforms.anomalies``) and described in one line each."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import duckdb
import polars as pl

from openbooks.flows.report.format import format_value
from openbooks.flows.report.sections.in_depth import IN_DEPTH_FIGURES
from openbooks.flows.report.sections.figures import FIGURES
from openbooks.flows.warehouse import frame
from openbooks.transforms.anomalies import POINTS, SCHEMA, WATCHED, Watch, day_anomalies

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


def watched(config) -> tuple[Watch, ...]:
    """The watched figures with the config's thresholds (``anomalies:``)."""
    declared = config.anomalies
    return tuple(replace(w, threshold=declared.threshold_points if w.kind == POINTS else declared.threshold_relative)
                 for w in WATCHED)


def anomalies_of_run(config, daily: pl.DataFrame) -> pl.DataFrame:
    """The anomalies of a day being run (its computed ``daily`` row) against
    the published days before it (the config's ``anomalies`` window and
    thresholds): staged and published with the day, shown in its report."""
    return anomalies_of_days(config, daily)[daily["day"][0]]


def anomalies_of_days(config, dailies: pl.DataFrame) -> dict[date, pl.DataFrame]:
    """The anomalies of each day of ``dailies`` (days being run together, one
    ``daily_economics`` row each) against the days before it: the published
    ones, the days of ``dailies`` standing in for their published rows (as
    each would be published by the time a run of the next day reads them)."""
    from openbooks.flows.warehouse import session

    days, window_days = sorted(dailies["day"].to_list()), config.anomalies.window_days
    with session(config) as con:  # a writing session: it takes turns with a backfill's other days
        history = frame(con, "SELECT * FROM daily_economics WHERE day BETWEEN ? AND ? ORDER BY day",
                        [days[0] - timedelta(days=window_days), days[-1] - timedelta(days=1)])
    columns = [c for c in dailies.columns if c in history.columns]
    rows = pl.concat([history.select(columns).filter(~pl.col("day").is_in(days)), dailies.select(columns)],
                     how="vertical_relaxed").sort("day")
    return {day: day_anomalies(rows.filter(pl.col("day").is_between(day - timedelta(days=window_days), day)), day,
                               window_days=window_days, min_days=config.anomalies.min_days, watched=watched(config))
            for day in days}


def webhook_host(url: str) -> str:
    """The webhook as it may be printed: its host only (its path often holds the token)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def notify(config, anomalies: pl.DataFrame) -> str | None:
    """Post a published day's anomalies to ``notifications.webhook_url`` when
    one is set; returns why it could not be posted (never raises)."""
    url = config.notifications.webhook_url
    if anomalies.is_empty() or not url:
        return None
    from openbooks.flows.schedule import post_webhook

    lines = descriptions(anomalies)
    payload = {"text": "openbooks anomalies:\n" + "\n".join(lines), "day": str(anomalies["day"][0]),
               "anomalies": anomalies.to_dicts(), "config_hash": config.hash}
    try:
        post_webhook(url, payload, config.notifications.timeout_seconds)
    except (OSError, ValueError) as exc:  # URLError is an OSError; an anomaly never fails a run
        from openbooks.redact import redact

        return redact(f"anomalies not posted to the webhook at {webhook_host(url)}: {exc}")
    return None


def published_lines(config, day: date) -> list[str]:
    """One line per published anomaly of ``day`` (none when the warehouse has no ``anomalies`` table)."""
    from openbooks.flows.warehouse import session

    with session(config) as con:  # the run's own process may still hold a writing connection
        held = frame(con, "SELECT table_name FROM information_schema.tables WHERE table_name = 'anomalies'")
        if held.is_empty():
            return []
        found = frame(con, "SELECT * FROM anomalies WHERE day = ? ORDER BY rowid", [day])
    return descriptions(found)
