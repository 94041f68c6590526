"""The day's models, each linking to its page on the site (``named_pages``):
requests, GPU cost, revenue and margin. In the HTML only: the Markdown's
revenue waterfall names the models."""

from __future__ import annotations

from urllib.parse import quote

from openbooks.flows.report.day import Day
from openbooks.flows.report.format import Link, Part, html_table, money, pct

MODELS = "model_economics"
TABLES = (MODELS,)
HEADER = ["model", "requests", "GPU cost", "theoretical revenue", "billed revenue", "margin", "gross margin, billed"]


def render(day: Day) -> Part | None:
    models = day.table(MODELS)
    if not models.height:
        return None
    rows = [[Link(str(r["model"]), f"models/{quote(quote(str(r['model']), safe=''))}.html"), f"{r['requests'] or 0:,}",
             money(r["gpu_cost_usd"]), money(r["theoretical_revenue_usd"]), money(r["billed_revenue_usd"]),
             money(r["margin_usd"]), pct(r["billed_gross_margin"])]
            for r in models.sort("model").iter_rows(named=True)]
    return Part(html=html_table("Models", HEADER, rows))
