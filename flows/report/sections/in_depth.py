"""The economics in depth: billed and fully loaded figures, idle capacity,
throughput, cost per million tokens and the cache's worth. Shown when the
day's economics in depth were computed (the day has a revenue waterfall)."""

from __future__ import annotations

from openbooks.flows.report.day import DAILY, WATERFALL, Day
from openbooks.flows.report.format import Part, figure_rows, table_part
from openbooks.transforms.figures import FIGURE

TABLES = (DAILY,)

IN_DEPTH_FIGURES = (
    ("billed_revenue_usd", "Billed revenue", "${:,.0f}"),
    FIGURE["billed_gross_margin"].shown,
    ("loaded_cost_usd", "Fully loaded cost", "${:,.0f}"),
    FIGURE["loaded_cost_profit_margin"].shown,
    FIGURE["loaded_gross_margin"].shown,
    FIGURE["billed_loaded_gross_margin"].shown,
    ("idle_capacity_node_hours", "Idle capacity against the peak (node-hours)", "{:,.0f}"),
    FIGURE["idle_capacity_share"].shown,
    ("idle_capacity_usd", "  at rental", "${:,.0f}"),
    ("training_node_hours", "Node-hours lent to training", "{:,.0f}"),
    ("training_node_hours_credit_usd", "  credited at rental", "${:,.0f}"),
    FIGURE["prefill_input_tokens_per_node_second"].shown,
    FIGURE["decode_output_tokens_per_node_second"].shown,
    FIGURE["cost_per_million_input_usd"].shown,
    FIGURE["cost_per_million_output_usd"].shown,
    FIGURE["break_even_output_price_usd"].shown,
    FIGURE["loaded_break_even_output_price_usd"].shown,
    ("cache_discount_usd", "Revenue given up by the cache discount", "${:,.0f}"),
    ("cache_saved_node_hours", "Prefill node-hours saved by cache hits", "{:,.0f}"),
    ("cache_saved_gpu_hours", "  GPU-hours", "{:,.0f}"),
    ("cache_saved_usd", "  at rental", "${:,.0f}"),
)


def render(day: Day) -> Part | None:
    if not day.has(WATERFALL):
        return None
    rows = [list(row) for row in figure_rows(day.daily, IN_DEPTH_FIGURES)]
    return table_part("The economics in depth", ["figure", "value"], rows)
