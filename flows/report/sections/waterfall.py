"""The revenue waterfall, theoretical to billed, per model and for all."""

from __future__ import annotations

from openbooks.flows.report.day import WATERFALL, Day
from openbooks.flows.report.format import Part, money, table_part

TABLES = (WATERFALL,)


def render(day: Day) -> Part | None:
    if not day.has(WATERFALL):
        return None
    waterfall = day.table(WATERFALL)
    models = waterfall["model"].unique(maintain_order=True).to_list()
    wide = waterfall.pivot(on="model", index=["step_order", "step"], values="amount_usd").sort("step_order")
    rows = [[r["step"], *(money(r[m]) for m in models)] for r in wide.iter_rows(named=True)]
    return table_part("Revenue waterfall", ["step", *models], rows)
