"""The day's headline figures."""

from __future__ import annotations

import html

from openbooks.flows.report.day import DAILY, Day
from openbooks.flows.report.format import Part, figure_rows, markdown_table
from openbooks.transforms.figures import FIGURE

TABLES = (DAILY,)

FIGURES = (
    ("node_hours", "Node-hours (serving)", "{:,.2f}"),
    ("peak_nodes", "Peak nodes", "{:,.0f}"),
    FIGURE["avg_nodes"].shown,
    ("gpu_hours", "GPU-hours", "{:,.0f}"),
    ("gpu_cost_usd", "GPU cost (rental)", "${:,.0f}"),
    ("input_tokens", "Input tokens", "{:,}"),
    ("cache_hit_tokens", "  of which cache hits", "{:,}"),
    FIGURE["cache_hit_rate"].shown,
    ("output_tokens", "Output tokens", "{:,}"),
    ("theoretical_revenue_usd", "Theoretical revenue", "${:,.0f}"),
    FIGURE["cost_profit_margin"].shown,
    FIGURE["gross_margin"].shown,
)


def render(day: Day) -> Part:
    figures = figure_rows(day.daily, FIGURES)
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in figures)
    return Part(
        "## Figures\n\n" + markdown_table(["figure", "value"], [list(r) for r in figures]),
        f"<h2>Figures</h2><table>{cells}</table>",
    )
