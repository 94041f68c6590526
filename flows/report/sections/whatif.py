"""The config's what-if scenarios on the day (``scenario_economics``): each scenario's totals."""

from __future__ import annotations

import polars as pl

from openbooks.flows.report.day import Day
from openbooks.flows.report.format import Part, format_value, pct, table_part, usd

SCENARIO_ECONOMICS = "scenario_economics"
TABLES = (SCENARIO_ECONOMICS,)
HEADER = ["scenario", "GPU", "average nodes", "peak nodes", "GPU cost", "revenue", "gross margin",
          "billed gross margin", "cost per M output"]


def render(day: Day) -> Part | None:
    found = day.table(SCENARIO_ECONOMICS)
    if not found.height:
        return None
    rows = [
        [r["scenario"], f"{r['gpu_type']} x{r['gpus_per_node']:g} at ${r['rental_usd_per_gpu_hour']:.2f}",
         format_value(r["avg_nodes"], "{:,.1f}"), format_value(r["peak_nodes"], "{:,.1f}"), usd(r["gpu_cost_usd"]),
         usd(r["revenue_usd"]), pct(r["gross_margin"]), pct(r["billed_gross_margin"]),
         format_value(r["cost_per_million_output_usd"], "${:.2f}")]
        for r in found.filter(pl.col("model") == "all").iter_rows(named=True)
    ]
    return table_part("What if", HEADER, rows)
