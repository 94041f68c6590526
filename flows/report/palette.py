"""One colour per quantity, declared once: the report's charts, the site's
trends and ``openbooks ui`` all take their colours from here. Each reads on
a light and on a dark background."""

from __future__ import annotations

# quantity (a warehouse column, or a role) -> (label, colour)
SERIES = {
    "gpu_cost_usd": ("GPU cost", "#d1495b"),
    "allocated_cost_usd": ("Allocated GPU cost", "#d1495b"),
    "theoretical_revenue_usd": ("Theoretical revenue", "#3a7bd5"),
    "billed_revenue_usd": ("Billed revenue", "#2a9d8f"),
    "margin_usd": ("Margin", "#8e6cc9"),
    "gross_margin": ("Gross margin, theoretical", "#3a7bd5"),
    "billed_gross_margin": ("Gross margin, billed", "#2a9d8f"),
    "loaded_gross_margin": ("Gross margin, fully loaded", "#8e6cc9"),
    "cost_per_million_input_usd": ("Cost per million input tokens", "#d1495b"),
    "cost_per_million_output_usd": ("Cost per million output tokens", "#e07a5f"),
    "cache_hit_rate": ("Cache hit rate", "#e09f3e"),
    "avg_nodes": ("Serving nodes", "#e09f3e"),
}
ROLE_COLOURS = {"prefill": "#3a7bd5", "decode": "#e09f3e", "idle": "#9e9e9e", "training": "#2a9d8f",
                "serving": "#8e6cc9"}
WATERFALL = {"total": "#3a7bd5", "change": "#d1495b"}
UP, DOWN = "#2a9d8f", "#d1495b"  # a change for the better, for the worse


def colour(quantity: str) -> str:
    return SERIES[quantity][1] if quantity in SERIES else ROLE_COLOURS[quantity]
