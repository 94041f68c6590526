"""The fully loaded cost, line by line."""

from __future__ import annotations

from openbooks.flows.report.day import COST_BREAKDOWN, Day
from openbooks.flows.report.format import Part, pct, table_part, usd

TABLES = (COST_BREAKDOWN,)


def render(day: Day) -> Part | None:
    if not day.has(COST_BREAKDOWN):
        return None
    breakdown = day.table(COST_BREAKDOWN)
    rows = [[r["line"], usd(r["usd"]), pct(r["share"])] for r in breakdown.iter_rows(named=True)]
    rows.append(["fully loaded", usd(breakdown["usd"].sum()), pct(1.0 if breakdown.height else None)])
    return table_part("Cost breakdown", ["line", "USD", "share"], rows)
