"""The month ahead: a month's cost, revenue and margins projected from the
days published so far, and the budgets they break.

Run rate with a day-of-week shape: each weekday's share of the figure is
read off the trailing weeks (``shape``: its mean over the mean of every
day; 1 for a weekday not seen); the days the projection is based on (the
month's published days, or the last ``BASIS_DAYS`` published days when the
month has fewer) are divided by their weekday's shape and averaged (the run
rate); each day of the month not published is the run rate times its
weekday's shape. The interval: the based-on days' spread (s, of the shaped-out
values) over the R projected days, s²·R for the days' own noise and s²·R²/n
for the run rate's, at ``Z`` (90%, two-sided).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from openbooks.transforms.ratios import cost_profit_margin, gross_margin

FIGURES = ("gpu_cost_usd", "theoretical_revenue_usd", "billed_revenue_usd")
BASIS_DAYS = 7
SHAPE_WEEKS = 8
Z = 1.645  # 90% two-sided


def month_days(first: date, last: date) -> pl.DataFrame:
    return pl.DataFrame({"day": pl.date_range(first, last, "1d", eager=True)})


def shape(history: pl.DataFrame, figure: str) -> pl.DataFrame:
    """``weekday`` (1 = Monday) and ``shape``: the weekday's mean of ``figure`` over the mean of every day."""
    rows = history.select("day", figure).drop_nulls().with_columns(weekday=pl.col("day").dt.weekday())
    mean = rows[figure].mean()
    by_day = rows.group_by("weekday").agg(shape=pl.col(figure).mean() / mean if mean else pl.lit(1.0))
    return pl.DataFrame({"weekday": list(range(1, 8))}, schema={"weekday": pl.Int8}).join(
        by_day.with_columns(pl.col("weekday").cast(pl.Int8)), on="weekday", how="left"
    ).with_columns(pl.col("shape").fill_null(1.0))


def basis(published: pl.DataFrame, first: date, as_of: date) -> pl.DataFrame:
    """The days a projection rests on: the month's published days up to
    ``as_of``, or the last ``BASIS_DAYS`` published days when fewer."""
    known = published.filter(pl.col("day") <= as_of).sort("day")
    month = known.filter(pl.col("day") >= first)
    return month if month.height >= BASIS_DAYS else known.tail(BASIS_DAYS)


def project_figure(published: pl.DataFrame, figure: str, first: date, last: date, as_of: date) -> dict:
    """One figure's month: so far, projected, low and high, and what it rests on."""
    history = published.filter(pl.col("day").is_between(as_of - timedelta(weeks=SHAPE_WEEKS) + timedelta(days=1),
                                                         as_of))
    weekdays = shape(history, figure)
    rested = basis(published, first, as_of).join(
        weekdays, left_on=pl.col("day").dt.weekday().cast(pl.Int8), right_on="weekday", how="left")
    plain = rested[figure] / rested["shape"]
    rate, spread, n = plain.mean() or 0.0, (plain.std() or 0.0) if plain.len() > 1 else 0.0, plain.len()
    days = month_days(first, last)
    known = published.filter(pl.col("day").is_between(first, as_of)).select("day", figure)
    ahead = days.join(known, on="day", how="anti").join(
        weekdays, left_on=pl.col("day").dt.weekday().cast(pl.Int8), right_on="weekday", how="left")
    so_far, remaining = float(known[figure].sum()), ahead.height
    projected = so_far + rate * float(ahead["shape"].sum())
    width = Z * (spread ** 2 * remaining + spread ** 2 * remaining ** 2 / n) ** 0.5 if n > 1 else None
    return {"figure": figure, "so_far": so_far, "projected": projected,  # no spread of one day: no interval
            "low": None if width is None else projected - width, "high": None if width is None else projected + width, "days_published": known.height, "days_projected": remaining,
            "basis_first_day": rested["day"].min(), "basis_last_day": rested["day"].max(), "basis_days": n}


def forecast(published: pl.DataFrame, first: date, last: date, as_of: date) -> pl.DataFrame:
    """The month from ``first`` to ``last`` projected from ``published``
    (``day`` and ``FIGURES``, one row a day) as of ``as_of``: a row per
    figure, then the margins of the projected sums (low: the lowest revenue
    against the highest cost; high: the reverse)."""
    rows = pl.DataFrame([project_figure(published, f, first, last, as_of) for f in FIGURES])
    return pl.concat([rows, margin_rows(rows)], how="diagonal_relaxed")


def margin_rows(figures: pl.DataFrame) -> pl.DataFrame:
    """Gross margin and cost profit margin on theoretical revenue, billed gross margin, from the projected sums."""
    f = {r["figure"]: r for r in figures.iter_rows(named=True)}
    cost, theo, billed = f["gpu_cost_usd"], f["theoretical_revenue_usd"], f["billed_revenue_usd"]
    meta = {k: cost[k] for k in ("days_published", "days_projected", "basis_first_day", "basis_last_day",
                                 "basis_days")}
    rows = []
    for name, formula, revenue in (("gross_margin", gross_margin, theo), ("cost_profit_margin", cost_profit_margin, theo),
                                   ("billed_gross_margin", gross_margin, billed)):
        values = {}
        for column, r, c in (("so_far", "so_far", "so_far"), ("projected", "projected", "projected"),
                             ("low", "low", "high"), ("high", "high", "low")):
            values[column] = pl.select(formula(pl.lit(revenue[r], pl.Float64), pl.lit(cost[c], pl.Float64))).item()
        rows.append({"figure": name, **values, **meta})
    return pl.DataFrame(rows)


BUDGET_SO_FAR, BUDGET_FORECAST = "budget, month so far", "budget, forecast"


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of ``day``'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _broken(budget: dict, figure: str, limit: float, row: dict, above: bool) -> dict | None:
    """The budget's break by the month so far, else by its forecast (``above``: a ceiling, else a floor)."""
    for kind, value in ((BUDGET_SO_FAR, row["so_far"]), (BUDGET_FORECAST, row["projected"])):
        if value is not None and (value > limit if above else value < limit):
            label = figure if budget["model"] == "all" else f"{figure} of {budget['model']}"
            return {"figure": label, "value": value, "window_days": row["days_published"], "move": value - limit,
                    "kind": kind, "threshold": limit, "budget": budget["name"]}
    return None


def budget_breaks(published: dict[str, pl.DataFrame], budgets: list[dict], day: date) -> pl.DataFrame:
    """The budgets (``name``, ``model``, ``gpu_cost_usd_per_month``,
    ``gross_margin_floor``, ``margin``) that ``day``'s month breaks, so far
    or by its forecast as of ``day``; ``published``: per model (and ``all``)
    the days (``day``, ``FIGURES``) published by then. Rows as anomalies."""
    first, last = month_of(day)
    found = []
    for budget in budgets:
        rows = published.get(budget["model"])
        if rows is None or rows.filter(pl.col("day").is_between(first, day)).is_empty():
            continue
        projected = {r["figure"]: r for r in forecast(rows, first, last, day).iter_rows(named=True)}
        if budget["gpu_cost_usd_per_month"] is not None:
            found.append(_broken(budget, "gpu_cost_usd", budget["gpu_cost_usd_per_month"],
                                 projected["gpu_cost_usd"], above=True))
        if budget["gross_margin_floor"] is not None:
            found.append(_broken(budget, budget["margin"], budget["gross_margin_floor"], projected[budget["margin"]],
                                 above=False))
    rows = [dict(day=day, median=None, **r) for r in found if r is not None]
    return pl.DataFrame(rows, schema=BUDGET_SCHEMA)


BUDGET_SCHEMA = {"day": pl.Date, "figure": pl.String, "value": pl.Float64, "median": pl.Float64,
                 "window_days": pl.Int64, "move": pl.Float64, "kind": pl.String, "threshold": pl.Float64,
                 "budget": pl.String}
