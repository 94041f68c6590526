"""One colour per quantity, declared once: every chart and the stylesheet take it from here."""

from __future__ import annotations

# quantity -> (label, colour); readable on a light and a dark background
SERIES = {
    "gpu_cost_usd": ("GPU cost", "#d1495b"),
    "allocated_cost_usd": ("Allocated GPU cost", "#d1495b"),
    "theoretical_revenue_usd": ("Theoretical revenue", "#3a7bd5"),
    "billed_revenue_usd": ("Billed revenue", "#2a9d8f"),
    "margin_usd": ("Margin", "#8e6cc9"),
    "avg_nodes": ("Serving nodes", "#e09f3e"),
}
UP, DOWN = "#2a9d8f", "#d1495b"  # a change for the better, for the worse


def css_variables() -> str:
    """The palette as CSS custom properties, ``--c-<quantity>``."""
    lines = [f"  --c-{key.replace('_', '-')}: {colour};" for key, (_, colour) in SERIES.items()]
    lines += [f"  --c-up: {UP};", f"  --c-down: {DOWN};"]
    return ":root {\n" + "\n".join(lines) + "\n}\n"
