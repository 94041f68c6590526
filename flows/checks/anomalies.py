"""Anomalies of published days, computed from the warehouse's daily rows
(``transforms.anomalies``): the figures that moved against their trailing
median and the budgets a month breaks. Their one-line wording is the
report's (``flows/report/anomaly_lines.py``); posting them is
``flows/runtime/notify.py``'s."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl

from openbooks.flows.store.warehouse import frame
from openbooks.transforms.anomalies import POINTS, SCHEMA, WATCHED, Watch, day_anomalies
from openbooks.transforms.forecast import FIGURES as FORECAST_FIGURES
from openbooks.transforms.forecast import SHAPE_WEEKS, budget_breaks, month_of



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
    from openbooks.flows.store.warehouse import session

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


def published_anomalies(config, day: date) -> pl.DataFrame:
    """The published anomalies of ``day`` (none when the warehouse has no ``anomalies`` table)."""
    from openbooks.flows.store.warehouse import session

    with session(config) as con:  # the run's own process may still hold a writing connection
        held = frame(con, "SELECT table_name FROM information_schema.tables WHERE table_name = 'anomalies'")
        if held.is_empty():
            return pl.DataFrame(schema=SCHEMA)
        return frame(con, "SELECT * FROM anomalies WHERE day = ? ORDER BY rowid", [day])


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
    from openbooks.flows.store.warehouse import session

    first = min(month_of(days[0])[0], days[0] - timedelta(weeks=SHAPE_WEEKS))
    columns = ", ".join(FORECAST_FIGURES)
    with session(config) as con:
        found = {"all": frame(con, f"SELECT day, {columns} FROM daily_economics WHERE day BETWEEN ? AND ?",
                              [first, days[-1]])}
        for model in sorted(models):
            found[model] = frame(con, f"SELECT day, {columns} FROM model_economics WHERE model = ? "
                                      "AND day BETWEEN ? AND ?", [model, first, days[-1]])
    return found
