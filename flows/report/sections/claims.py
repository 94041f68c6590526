"""Each published claim against the computed day (when claims are declared)."""

from __future__ import annotations

from flows.report.day import CLAIMS, Day
from flows.report.format import Part, number, table_part

TABLES = (CLAIMS,)


def render(day: Day) -> Part | None:
    audit = day.table(CLAIMS)
    if not audit.height:
        return None
    rows = [
        [r["claim"], number(r["stated"]), number(r["computed"]), r["verdict"], r["source"]]
        for r in audit.iter_rows(named=True)
    ]
    return table_part("Claims audit", ["claim", "stated", "computed", "verdict", "source"], rows)
