"""The day's tokens at each price card."""

from __future__ import annotations

from openbooks.flows.report.day import SCENARIOS, Day
from openbooks.flows.report.format import Part, format_value, pct, table_part, usd

TABLES = (SCENARIOS,)
HEADER = ["card", "revenue (all tokens)", "billed", "cost profit margin", "gross margin", "gross margin, fully loaded"]


def render(day: Day) -> Part | None:
    if not day.has(SCENARIOS):
        return None
    rows = [
        [r["card"], usd(r["revenue_usd"]), usd(r["billed_revenue_usd"]), format_value(r["cost_profit_margin"], "{:.0%}"),
         pct(r["gross_margin"]), pct(r["loaded_gross_margin"])]
        for r in day.table(SCENARIOS).iter_rows(named=True)
    ]
    return table_part("Price-card scenarios", HEADER, rows)
