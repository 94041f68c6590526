"""The economics in depth: billed and fully loaded figures, idle capacity,
throughput, cost per million tokens and the cache's worth. Shown when the
day's economics in depth were computed (the day has a revenue waterfall)."""

from __future__ import annotations

from openbooks.flows.report.day import DAILY, WATERFALL, Day
from openbooks.flows.report.format import Part, figure_rows, table_part

TABLES = (DAILY,)

IN_DEPTH_FIGURES = (
    ("billed_revenue_usd", "Billed revenue", "${:,.0f}"),
    ("billed_gross_margin", "Gross margin, billed, on GPU cost", "{:.1%}"),
    ("loaded_cost_usd", "Fully loaded cost", "${:,.0f}"),
    ("loaded_cost_profit_margin", "Cost profit margin, fully loaded", "{:.0%}"),
    ("loaded_gross_margin", "Gross margin, fully loaded", "{:.1%}"),
    ("billed_loaded_gross_margin", "Gross margin, billed, fully loaded", "{:.1%}"),
    ("idle_capacity_node_hours", "Idle capacity against the peak (node-hours)", "{:,.0f}"),
    ("idle_capacity_share", "  share of peak capacity", "{:.1%}"),
    ("idle_capacity_usd", "  at rental", "${:,.0f}"),
    ("training_node_hours", "Node-hours lent to training", "{:,.0f}"),
    ("training_node_hours_credit_usd", "  credited at rental", "${:,.0f}"),
    ("prefill_input_tokens_per_node_second", "Input tokens/s per prefill node", "{:,.0f}"),
    ("decode_output_tokens_per_node_second", "Output tokens/s per decode node", "{:,.0f}"),
    ("cost_per_million_input_usd", "GPU cost per million input tokens", "${:,.4f}"),
    ("cost_per_million_output_usd", "GPU cost per million output tokens", "${:,.4f}"),
    ("break_even_output_price_usd", "Break-even output price (GPU cost)", "${:,.4f}"),
    ("loaded_break_even_output_price_usd", "Break-even output price (fully loaded)", "${:,.4f}"),
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
