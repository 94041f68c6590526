"""Each page of the UI composed from its tables: overview, day, model, customer, hour."""

from __future__ import annotations

from datetime import date

import polars as pl

from openbooks.flows.ui.charts import line_chart
from openbooks.flows.ui.filters import Filters
from openbooks.flows.ui.html import chart, filter_bar, headline_strip, table

MONEY_SERIES = ("gpu_cost_usd", "theoretical_revenue_usd", "billed_revenue_usd")
TITLES = {
    "anomalies": "Anomalies: figures past their threshold against the trailing median",
    "days": "Days", "month": "Month so far (run-rate over the whole month)", "models": "Models",
    "customers": "Customers (from request logs)", "channels": "Channels (token counts as read)",
    "fleet": "Fleet: node-hours by GPU type, role and model (node log as read)", "hours": "Hours",
    "cost_breakdown": "Fully loaded cost", "hour": "The hour",
}


def anomalies_first(tables: dict[str, pl.DataFrame], f: Filters) -> str:
    frame = tables.get("anomalies")
    if frame is None or frame.is_empty():
        return '<p class="empty">No anomalies in these days.</p>'
    return '<div class="anomalies-first">' + table("anomalies", TITLES["anomalies"], frame, f) + "</div>"


def sections(tables: dict[str, pl.DataFrame], names: tuple[str, ...], f: Filters, context: dict | None = None) -> str:
    return "".join(table(n, TITLES[n], tables[n], f, context) for n in names if n in tables)


def range_of(tables: dict[str, pl.DataFrame]) -> tuple[date | None, date | None]:
    r = tables["range"]
    return r["start"][0], r["end"][0]


def overview(tables: dict[str, pl.DataFrame], f: Filters, choices: dict) -> tuple[str, str]:
    start, end = range_of(tables)
    bar = filter_bar(f, "/", choices)
    if end is None:
        return "No published day yet", bar + "<p>Run a day first: openbooks run --date YYYY-MM-DD</p>"
    body = [bar, anomalies_first(tables, f), f"<h2>Last day: <a href=\"/day/{end}{f.query()}\">{end}</a></h2>",
            headline_strip(tables["headline"]),
            chart("daily", line_chart("GPU cost and revenue per day", tables["days"], "day", MONEY_SERIES)),
            sections(tables, ("month", "days", "models", "customers", "channels", "fleet"), f)]
    return f"Overview {start} to {end}", "".join(body)


def day_pager(day: date, tables: dict[str, pl.DataFrame], f: Filters) -> str:
    n = tables["neighbours"].row(0, named=True)
    q = f.query()
    links = [f'<a href="/day/{n["previous"]}{q}" rel="prev">← {n["previous"]}</a>' if n["previous"] else "",
             f'<a href="/{f.query(start=day.replace(day=1), end=None)}">month {day:%Y-%m}</a>',
             f'<a href="/day/{n["next"]}{q}" rel="next">{n["next"]} →</a>' if n["next"] else ""]
    return '<nav class="pager">' + "".join(links) + "</nav>"


def day(day_: date, tables: dict[str, pl.DataFrame], f: Filters, choices: dict) -> tuple[str, str]:
    if tables["headline"]["value"].is_null().all() and tables["hours"].is_empty():
        return f"{day_}: not published", day_pager(day_, tables, f) + "<p>This day has no published figures.</p>"
    hours = tables["hours"]
    body = [day_pager(day_, tables, f), filter_bar(f, f"/day/{day_}", choices), anomalies_first(tables, f),
            headline_strip(tables["headline"]),
            chart("hourly", line_chart("GPU cost and revenue per hour", hours, "hour_start", MONEY_SERIES,
                                       time_unit="yearmonthdatehoursminutes")),
            table("hours", TITLES["hours"], hours, f, {"_day": day_}),
            sections(tables, ("models", "customers", "cost_breakdown", "channels", "fleet"), f)]
    return f"Day {day_}", "".join(body)


def model(name: str, tables: dict[str, pl.DataFrame], f: Filters, choices: dict) -> tuple[str, str]:
    start, end = range_of(tables)
    series = ("gpu_cost_usd", "theoretical_revenue_usd", "billed_revenue_usd", "margin_usd")
    body = [filter_bar(f, f"/model/{name}", choices),
            chart("model", line_chart(f"{name}: cost and revenue per day", tables["days"], "day", series)),
            sections(tables, ("days",), f)]
    return f"Model {name}, {start} to {end}", "".join(body)


def customer(name: str, tables: dict[str, pl.DataFrame], f: Filters, choices: dict) -> tuple[str, str]:
    start, end = range_of(tables)
    series = ("allocated_cost_usd", "billed_revenue_usd", "margin_usd")
    body = [filter_bar(f, f"/customer/{name}", choices),
            chart("customer", line_chart(f"{name}: cost and revenue per day", tables["days"], "day", series)),
            sections(tables, ("days",), f)]
    return f"Customer {name}, {start} to {end}", "".join(body)


def hour(day_: date, index: int, tables: dict[str, pl.DataFrame], f: Filters) -> tuple[str, str]:
    row = tables["hour"]
    if row.is_empty():
        return f"{day_} hour {index}: not published", f'<p><a href="/day/{day_}{f.query()}">Back to {day_}</a></p>'
    start = row["hour_start"][0]
    links = [f'<a href="/day/{day_}{f.query()}">← {day_}</a>']
    if index > 0:
        links.append(f'<a href="/hour/{day_}/{index - 1}{f.query()}" rel="prev">previous hour</a>')
    links.append(f'<a href="/hour/{day_}/{index + 1}{f.query()}" rel="next">next hour</a>')
    body = ['<nav class="pager">' + "".join(links) + "</nav>", table("hour", TITLES["hour"], row, f),
            sections(tables, ("channels", "fleet"), f)]
    return f"Hour {start:%Y-%m-%d %H:%M} UTC (day {day_}, hour {index})", "".join(body)
