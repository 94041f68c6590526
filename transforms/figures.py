"""The figure catalogue: every rate and margin of the books, declared once.

An entry gives a figure's formula (over the columns of a day's row, or an
hour's), its description in the warehouse schema, its label in the report
and, where a period cannot use the day's formula on its sums, the formula
over a period's sums (``transforms/period.py``). A day computes a figure
with ``Figure.expr()``, a period with ``Figure.period_expr()``: a new figure
added here is recomputed in every statement, described in ``openbooks
tables`` and labelled in the report from this one entry. Frames in, frames out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from openbooks.transforms.efficiency import (
    decode_cost_usd,
    idle_capacity_share,
    prefill_cost_usd,
    split,
    tokens_per_node_second,
    usd_per_million,
)
from openbooks.transforms.ratios import cache_hit_rate, cost_profit_margin, gross_margin, ratio

# Figures that need the prefill/decode split are null on a day (or model) with
# serving node-hours: prefill and decode share those GPUs, so no split is known.
NOT_SPLIT = "; null (not split) with serving node-hours (prefill and decode on the same GPUs)"


@dataclass(frozen=True)
class Figure:
    name: str
    description: str  # the column's description in the warehouse schema
    formula: Callable[[], pl.Expr]  # over a day's (or an hour's) row
    label: str | None = None  # the report's label, when the report shows it
    fmt: str | None = None  # the report's format of its value
    over_period: Callable[[], pl.Expr] | None = None  # over a period's sums, when a day's formula cannot be used

    def expr(self) -> pl.Expr:
        return self.formula().alias(self.name)

    def period_expr(self) -> pl.Expr:
        return (self.over_period or self.formula)().alias(self.name)

    @property
    def shown(self) -> tuple[str, str, str]:
        """(name, label, format), as the report's figure tables list them."""
        assert self.label is not None and self.fmt is not None, f"{self.name} has no report label"
        return self.name, self.label, self.fmt


def _margin(kind: Callable[[pl.Expr, pl.Expr], pl.Expr], revenue: str, cost: str) -> Callable[[], pl.Expr]:
    return lambda: kind(pl.col(revenue), pl.col(cost))


THEORETICAL, BILLED = "theoretical_revenue_usd", "billed_revenue_usd"
GPU, LOADED, INVOICED = "gpu_cost_usd", "loaded_cost_usd", "invoiced_gpu_cost_usd"

FIGURES = (
    Figure("avg_nodes", "node_hours / hours", lambda: ratio(pl.col("node_hours"), pl.col("hours")),
           "Average nodes", "{:,.2f}"),
    Figure("cache_hit_rate", "cache_hit_tokens / input_tokens",
           lambda: cache_hit_rate(pl.col("cache_hit_tokens"), pl.col("cache_miss_tokens")), "Cache hit rate", "{:.2%}"),
    Figure("cost_profit_margin", "theoretical revenue / GPU cost - 1 (5.45 = 545%)",
           _margin(cost_profit_margin, THEORETICAL, GPU), "Cost profit margin", "{:.0%}"),
    Figure("gross_margin", "(theoretical revenue - GPU cost) / theoretical revenue",
           _margin(gross_margin, THEORETICAL, GPU), "Gross margin", "{:.1%}"),
    Figure("billed_gross_margin", "(billed revenue - GPU cost) / billed revenue",
           _margin(gross_margin, BILLED, GPU), "Gross margin, billed, on GPU cost", "{:.1%}"),
    Figure("loaded_cost_profit_margin", "theoretical revenue / fully loaded cost - 1",
           _margin(cost_profit_margin, THEORETICAL, LOADED), "Cost profit margin, fully loaded", "{:.0%}"),
    Figure("loaded_gross_margin", "(theoretical revenue - fully loaded cost) / theoretical revenue",
           _margin(gross_margin, THEORETICAL, LOADED), "Gross margin, fully loaded", "{:.1%}"),
    Figure("billed_loaded_gross_margin", "(billed revenue - fully loaded cost) / billed revenue",
           _margin(gross_margin, BILLED, LOADED), "Gross margin, billed, fully loaded", "{:.1%}"),
    Figure("invoiced_cost_profit_margin", "theoretical revenue / invoiced GPU cost - 1",
           _margin(cost_profit_margin, THEORETICAL, INVOICED)),
    Figure("invoiced_gross_margin", "(theoretical revenue - invoiced GPU cost) / theoretical revenue",
           _margin(gross_margin, THEORETICAL, INVOICED)),
    Figure("billed_invoiced_gross_margin", "(billed revenue - invoiced GPU cost) / billed revenue",
           _margin(gross_margin, BILLED, INVOICED)),
    Figure("idle_capacity_share", "idle capacity / (peak nodes x hours)", idle_capacity_share,
           "  share of peak capacity", "{:.1%}",
           over_period=lambda: ratio(pl.col("idle_capacity_node_hours"), pl.col("peak_capacity_node_hours"))),
    Figure("prefill_input_tokens_per_node_second", "input tokens / (prefill node-hours x 3,600)" + NOT_SPLIT,
           lambda: split(tokens_per_node_second("input_tokens", "prefill_node_hours")),
           "Input tokens/s per prefill node", "{:,.0f}",
           over_period=lambda: tokens_per_node_second("input_tokens", "prefill_node_hours")),
    Figure("decode_output_tokens_per_node_second", "output tokens / (decode node-hours x 3,600)" + NOT_SPLIT,
           lambda: split(tokens_per_node_second("output_tokens", "decode_node_hours")),
           "Output tokens/s per decode node", "{:,.0f}",
           over_period=lambda: tokens_per_node_second("output_tokens", "decode_node_hours")),
    Figure("cost_per_million_input_usd", "GPU cost x prefill share of node-hours / input tokens x 10^6" + NOT_SPLIT,
           lambda: usd_per_million(prefill_cost_usd(GPU), "input_tokens"),
           "GPU cost per million input tokens", "${:,.4f}",
           over_period=lambda: usd_per_million(pl.col("prefill_cost_usd"), "input_tokens")),
    Figure("cost_per_million_output_usd", "GPU cost x decode share of node-hours / output tokens x 10^6" + NOT_SPLIT,
           lambda: usd_per_million(decode_cost_usd(GPU), "output_tokens"),
           "GPU cost per million output tokens", "${:,.4f}",
           over_period=lambda: usd_per_million(pl.col(GPU) - pl.col("prefill_cost_usd"), "output_tokens")),
    Figure("break_even_output_price_usd", "output price per million that alone covers GPU cost",
           lambda: usd_per_million(pl.col(GPU), "output_tokens"), "Break-even output price (GPU cost)", "${:,.4f}"),
    Figure("loaded_break_even_output_price_usd", "output price per million that alone covers loaded cost",
           lambda: usd_per_million(pl.col(LOADED), "output_tokens"),
           "Break-even output price (fully loaded)", "${:,.4f}"),
)
FIGURE = {figure.name: figure for figure in FIGURES}


def exprs(*names: str) -> list[pl.Expr]:
    """The named figures' day formulas, each aliased to its name."""
    return [FIGURE[name].expr() for name in names]
