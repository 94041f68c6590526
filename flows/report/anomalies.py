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
from openbooks.transforms.forecast import FIGURES as FORECAST_FIGURES
from openbooks.transforms.forecast import BUDGET_SO_FAR, SHAPE_WEEKS, budget_breaks, month_of

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
    if row.get("budget") is not None:
        return describe_budget(row)
    label, fmt = LABELS.get(row["figure"], (row["figure"], "{:,.4g}"))
    if row["kind"] == POINTS:
        moved, limit = f"{row['move'] * 100:+.1f} pts", f"{row['threshold'] * 100:.1f} pts"
    else:
        moved, limit = f"{row['move']:+.1%}", f"{row['threshold']:.0%}"
    return (f"{row['day']} {label} {format_value(row['value'], fmt)} against a median of "
            f"{format_value(row['median'], fmt)} over {row['window_days']} days ({moved}, threshold {limit})")


def describe_budget(row: dict) -> str:
    """``2025-02-27 budget 'GPU cost ceiling' broken by the month's forecast: GPU cost $2,900,000 above $2,800,000``."""
    money = row["figure"].startswith("gpu_cost_usd")
    shown = (lambda v: f"${v:,.0f}") if money else (lambda v: f"{v:.1%}")
    where = "above" if money else "below"
    by = "the month so far" if row["kind"] == BUDGET_SO_FAR else "the month's forecast"
    return (f"{row['day']} budget '{row['budget']}' broken by {by}: {row['figure']} {shown(row['value'])} "
            f"{where} {shown(row['threshold'])} ({row['window_days']} days published)")


def descriptions(anomalies: pl.DataFrame) -> list[str]:
    return [describe(row) for row in anomalies.iter_rows(named=True)]


def watched(config) -> tuple[Watch, ...]:
    """The watched figures with the config's thresholds (``anomalies:``)."""
    declared = config.anomalies
    return tuple(replace(w, threshold=declared.threshold_points if w.kind == POINTS else declared.threshold_relative)
                 for w in WATCHED)


def anomalies_of_run(config, daily: pl.DataFrame, models: pl.DataFrame | None = None) -> pl.DataFrame:
    """The anomalies of a day being run (its computed ``daily`` row) against
    the published days before it (the config's ``anomalies`` window and
    thresholds): staged and published with the day, shown in its report."""
    return anomalies_of_days(config, daily, models)[daily["day"][0]]


def anomalies_of_days(config, dailies: pl.DataFrame, models: pl.DataFrame | None = None) -> dict[date, pl.DataFrame]:
    """The anomalies of each day of ``dailies`` (days being run together, one
    ``daily_economics`` row each) against the days before it: the published
    ones, the days of ``dailies`` standing in for their published rows (as
    each would be published by the time a run of the next day reads them);
    and the budgets each day's month breaks (``budgets.budget_anomalies``,
    given the days' ``model_economics`` rows for budgets of a model)."""
    moved = figure_anomalies(config, dailies)
    broken = budget_anomalies(config, dailies, models)
    return {day: pl.concat([found, broken[day]], how="diagonal_relaxed") if day in broken and broken[day].height
            else found for day, found in moved.items()}


def figure_anomalies(config, dailies: pl.DataFrame) -> dict[date, pl.DataFrame]:
    """The key figures of each day of ``dailies`` against their trailing median."""
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


def budget_anomalies(config, dailies: pl.DataFrame, models: pl.DataFrame | None) -> dict[date, pl.DataFrame]:
    """Per day of ``dailies``, the budgets its month breaks so far or by its
    forecast as of that day (the published days, ``dailies`` and ``models``
    standing in for theirs); none without ``budgets:`` in the config."""
    if not config.budgets:
        return {}
    days = sorted(dailies["day"].to_list())
    history = budget_history(config, days, {b.model for b in config.budgets} - {"all"})
    ran = {"all": dailies.select("day", *FORECAST_FIGURES)}
    if models is not None:
        for model, rows in models.group_by("model"):
            ran[model[0]] = rows.select("day", *FORECAST_FIGURES)
    series = {key: pl.concat([rows.filter(~pl.col("day").is_in(days)), ran[key]], how="vertical_relaxed").sort("day")
              if key in ran else rows for key, rows in history.items()}
    budgets = [b.model_dump() for b in config.budgets]
    return {day: budget_breaks(series, budgets, day) for day in days}


def budget_history(config, days: list[date], models: set[str]) -> dict[str, pl.DataFrame]:
    """The published days a budget's forecast rests on (its month and the
    weeks of weekday shape before), in total (``all``) and for ``models``."""
    from openbooks.flows.warehouse import session

    first = min(month_of(days[0])[0], days[0] - timedelta(weeks=SHAPE_WEEKS))
    columns = ", ".join(FORECAST_FIGURES)
    with session(config) as con:
        found = {"all": frame(con, f"SELECT day, {columns} FROM daily_economics WHERE day BETWEEN ? AND ?",
                              [first, days[-1]])}
        for model in sorted(models):
            found[model] = frame(con, f"SELECT day, {columns} FROM model_economics WHERE model = ? "
                                      "AND day BETWEEN ? AND ?", [model, first, days[-1]])
    return found


def published_budget_breaks(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pl.DataFrame:
    """The budget rows published in the anomalies table from ``start`` to ``end``."""
    return frame(con, "SELECT * EXCLUDE (run_id) FROM anomalies WHERE kind LIKE 'budget%' AND day BETWEEN ? AND ? "
                      "ORDER BY day, rowid", [start, end])
