"""Each published claim against the computed day (when claims are declared),
its values in the claim's unit: $, %, GPU-hours."""

from __future__ import annotations

from openbooks.flows.report.day import CLAIMS, Day
from openbooks.flows.report.format import Part, money, number, pct, table_part

TABLES = (CLAIMS,)


def in_unit(value, unit: str | None) -> str:
    """A claim's value as its unit reads: dollars, percent (of a fraction), GPU-hours."""
    if value is None:
        return "n/a"
    shown = {"usd": money, "percent": pct}.get(unit)
    if shown is not None:
        return shown(value)
    return f"{number(value)} GPU-hours" if unit == "gpu_hours" else number(value)


def verdict_text(row: dict) -> str:
    """The verdict; a rejected claim says by how much it misses and what it was allowed."""
    difference, tolerance = row.get("difference"), row.get("tolerance")
    if row["verdict"] != "rejected" or difference is None or tolerance is None:
        return row["verdict"]
    unit = row.get("unit")
    return f"rejected: off by {in_unit(abs(difference), unit)}, allowed {in_unit(tolerance, unit)}"


def render(day: Day) -> Part | None:
    audit = day.table(CLAIMS)
    if not audit.height:
        return None
    rows = [
        [r["claim"], in_unit(r["stated"], r.get("unit")), in_unit(r["computed"], r.get("unit")), verdict_text(r),
         r["source"]]
        for r in audit.iter_rows(named=True)
    ]
    return table_part("Claims audit", ["claim", "stated", "computed", "verdict", "source"], rows)
