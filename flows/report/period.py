"""Statements over a period: a range of business days, a month or an ISO week.

The published tables are read over a read-only session (nothing is
recomputed); ``transforms.period`` sums the days and recomputes the ratios;
``period_page`` writes the statement as Markdown, HTML, CSV or JSON.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from openbooks.flows.store import published
from openbooks.flows.store.warehouse import session
from openbooks.config import Config
from openbooks.errors import OpenbooksError
from openbooks.transforms import forecast, period, whatif
from openbooks.transforms.anomalies import WINDOW_DAYS, anomalies_between

READ = ("daily_economics", "revenue_waterfall", "cost_breakdown", "customer_economics")


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str  # names the statement's files: 2025-02, 2025-W09, 2025-02-20_2025-02-27

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def parse_period(start: str | None = None, end: str | None = None, month: str | None = None,
                 week: str | None = None) -> Period:
    """One of --start/--end, --month YYYY-MM or --week YYYY-Www, as a period."""
    given = [name for name, value in (("--start/--end", start or end), ("--month", month), ("--week", week)) if value]
    if len(given) != 1:
        raise OpenbooksError("give one period: --start D1 --end D2, --month YYYY-MM or --week YYYY-Www")
    if month:
        return month_period(month)
    if week:
        return week_period(week)
    if not (start and end):
        raise OpenbooksError("--start and --end go together: --start 2025-02-20 --end 2025-02-27")
    first, last = _date(start, "--start"), _date(end, "--end")
    if last < first:
        raise OpenbooksError(f"--end {last} is before --start {first}")
    return Period(first, last, f"{first}_{last}")


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise OpenbooksError(f"{option} {text!r}: expected a date as YYYY-MM-DD") from None


def month_period(text: str) -> Period:
    try:
        year, month = (int(part) for part in text.split("-"))
        last = calendar.monthrange(year, month)[1]
    except ValueError:
        raise OpenbooksError(f"--month {text!r}: expected YYYY-MM, e.g. 2025-02") from None
    return Period(date(year, month, 1), date(year, month, last), f"{year:04d}-{month:02d}")


def week_period(text: str) -> Period:
    try:
        year, week = text.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise OpenbooksError(f"--week {text!r}: expected YYYY-Www, e.g. 2025-W09") from None
    return Period(monday, monday + timedelta(days=6), f"{int(year):04d}-W{int(week):02d}")


@dataclass(frozen=True)
class Statement:
    period: Period
    previous: Period
    totals: pl.DataFrame  # one row
    days: pl.DataFrame  # every day of the period, published or not
    change: pl.DataFrame
    models: pl.DataFrame
    waterfall: pl.DataFrame
    cost_breakdown: pl.DataFrame
    customers: pl.DataFrame
    daily: pl.DataFrame  # the published days' rows, for the trends
    anomalies: pl.DataFrame = field(default_factory=pl.DataFrame)
    daily_cost_lines: pl.DataFrame = field(default_factory=pl.DataFrame)  # cost_breakdown per day
    scenarios: pl.DataFrame = field(default_factory=pl.DataFrame)  # scenario_economics' totals over the period
    forecast: pl.DataFrame = field(default_factory=pl.DataFrame)  # a month's projection, while it is not over

    @property
    def absent(self) -> pl.DataFrame:
        return period.absent_days(self.days)

    @property
    def complete(self) -> bool:
        return self.absent.height == 0


def statement(current: dict[str, pl.DataFrame], previous: dict[str, pl.DataFrame], of: Period) -> Statement:
    """The statement of ``of`` from its tables and the previous period's."""
    totals = period.period_totals(current["daily_economics"])
    before = period.previous_period(of.start, of.end)
    customers = current["customer_economics"]
    return Statement(
        period=of,
        previous=Period(*before, f"{before[0]}_{before[1]}"),
        totals=totals,
        days=period.days_table(current["daily_economics"], current["last_runs"], of.start, of.end),
        change=period.period_change(totals, period.period_totals(previous["daily_economics"])),
        models=period.model_revenue(current["revenue_waterfall"]),
        waterfall=period.period_waterfall(current["revenue_waterfall"]),
        cost_breakdown=period.period_cost_breakdown(current["cost_breakdown"]),
        customers=period.period_customers(customers) if customers.height else pl.DataFrame(),
        daily=current["daily_economics"],
        anomalies=current.get("anomalies", pl.DataFrame()),
        daily_cost_lines=current["cost_breakdown"],
        scenarios=whatif.published_totals(current["scenario_economics"]) if "scenario_economics" in current
        else pl.DataFrame(),
        forecast=month_forecast(current.get("forecast_days"), of),
    )


def month_forecast(days: pl.DataFrame | None, of: Period) -> pl.DataFrame:
    """A calendar month's projection as of its last published day, while days of it are still to come."""
    first, last = forecast.month_of(of.start)
    if days is None or (of.start, of.end) != (first, last):
        return pl.DataFrame()
    so_far = days.filter(pl.col("day").is_between(first, last))
    if so_far.is_empty() or so_far.height == of.days:
        return pl.DataFrame()
    return forecast.forecast(days, first, last, so_far["day"].max())


def period_statement(config: Config, of: Period, *, read_only: bool = True) -> Statement:
    """The statement of ``of`` from the warehouse (read-only; within a run,
    ``read_only=False`` takes turns with the other writers instead)."""
    before = period.previous_period(of.start, of.end)
    with session(config, read_only=read_only) as con:
        current = published.period_tables(con, of.start, of.end, READ)
        history = published.daily_between(con, of.start - timedelta(days=WINDOW_DAYS), of.end)
        current["anomalies"] = pl.concat([anomalies_between(history, of.start, of.end),
                                          published.budget_breaks(con, of.start, of.end)], how="diagonal_relaxed")
        previous = published.period_tables(con, *before, READ)
    return statement(current, previous, of)
