"""The day's charts (in the HTML page; the Markdown links to it): serving
nodes and hourly cost against income, as DeepSeek published them, then the
revenue waterfall and capacity by role when the economics in depth exist."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from openbooks.flows.report import charts
from openbooks.flows.report.day import HOURLY, STEPS, WATERFALL, Day
from openbooks.flows.report.format import Part

TABLES = (STEPS, HOURLY, WATERFALL)


def draw(tables: Mapping[str, pl.DataFrame], timezone: str) -> tuple[str, ...]:
    """The day's charts as the page's figures (drawn in the browser; without
    script, their figures as text), from its tables by name."""
    day = Day(tables, None)
    axis = charts.time_axis(day.daily, timezone)
    drawn = [charts.node_chart(day.table(STEPS), axis), charts.cost_income_chart(day.table(HOURLY), axis)]
    if day.has(WATERFALL):
        drawn += [charts.waterfall_chart(day.table(WATERFALL)), charts.capacity_chart(day.table(HOURLY), axis)]
    return tuple(charts.figure_html(chart, static=False) for chart in drawn)


def render(day: Day) -> Part:
    shown = day.context.charts if day.context.charts is not None else draw(day.tables, day.context.timezone)
    return Part(html="<h2>Charts</h2>" + "".join(shown), charts=shown)
