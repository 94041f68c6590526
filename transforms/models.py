"""Cost and margin per model: ``model_economics``, one row per model and day.

A model carries the GPU cost of its own prefill, decode and serving
(prefill and decode on the same GPUs) node-hours, from
the node log (node-hours × GPUs per node × rental, ``cost.rental_usd``, as in
``gpu_cost_usd``). Idle node-hours serve no model and training node-hours are
lent out: both stay on one ``unattributed`` row, the idle ones with their
cost (part of the day's GPU cost), the training ones without (not a serving
cost). The rows' ``gpu_cost_usd`` therefore add up to the day's GPU cost.

Revenue is each model's own tokens: theoretical (at the reference price) and
billed (own price, billable channels, time-of-day rules).
"""

from __future__ import annotations

import polars as pl

from openbooks.transforms.capacity import ATTRIBUTED_ROLES, ROLES
from openbooks.transforms.efficiency import split, usd_per_million
from openbooks.transforms.ratios import cost_profit_margin, gross_margin

UNATTRIBUTED = "unattributed"  # the row of idle and training node-hours
TOKEN_SUMS = ("cache_hit_tokens", "cache_miss_tokens", "output_tokens", "requests")
COLUMNS = (
    "model", "prefill_node_hours", "decode_node_hours", "idle_node_hours", "training_node_hours", "serving_node_hours",
    "gpu_hours",
    "prefill_cost_usd", "decode_cost_usd", "gpu_cost_usd", "input_tokens", "cache_hit_tokens", "cache_miss_tokens",
    "output_tokens", "requests", "theoretical_revenue_usd", "billed_revenue_usd", "margin_usd",
    "cost_profit_margin", "gross_margin", "billed_gross_margin", "cost_per_million_tokens_usd",
    "cost_per_million_input_usd", "cost_per_million_output_usd",
)


def _role(column: str, role: str) -> pl.Expr:
    return pl.col(column).filter(pl.col("role") == role).sum()


def model_capacity(costed_node_hours: pl.DataFrame) -> pl.DataFrame:
    """Per model (and the unattributed row): node-hours by role, serving
    GPU-hours and GPU cost attributed to it."""
    attributed = pl.col("role").is_in(ATTRIBUTED_ROLES)
    rows = costed_node_hours.with_columns(
        model=pl.when(attributed).then(pl.col("model")).otherwise(pl.lit(UNATTRIBUTED)),
        serving=pl.col("role") != "training",
    )
    return rows.group_by("model").agg(
        *[_role("node_hours", role).alias(f"{role}_node_hours") for role in ROLES],
        gpu_hours=pl.col("gpu_hours").filter(pl.col("serving")).sum(),
        prefill_cost_usd=_role("gpu_cost_usd", "prefill"),
        decode_cost_usd=_role("gpu_cost_usd", "decode"),
        gpu_cost_usd=pl.col("gpu_cost_usd").filter(pl.col("serving")).sum(),
    )


def model_revenue(priced_tokens: pl.DataFrame, billed_tokens: pl.DataFrame) -> pl.DataFrame:
    """Per model: tokens, theoretical revenue and billed revenue."""
    tokens = priced_tokens.group_by("model").agg(
        *[pl.col(c).sum() for c in TOKEN_SUMS], pl.col("theoretical_revenue_usd").sum()
    )
    billed = billed_tokens.group_by("model").agg(pl.col("billed_revenue_usd").sum())
    return tokens.join(billed, on="model", how="full", coalesce=True)


def model_economics(costed_node_hours: pl.DataFrame, priced_tokens: pl.DataFrame,
                    billed_tokens: pl.DataFrame) -> pl.DataFrame:
    """One row per model served or billed, and the ``unattributed`` row:
    cost, revenue, margins and cost per million tokens (per million input
    or output tokens null on a model with serving node-hours: not split)."""
    unattributed = pl.DataFrame({"model": [UNATTRIBUTED]})
    capacity = pl.concat([model_capacity(costed_node_hours), unattributed], how="diagonal").unique(
        "model", keep="first", maintain_order=True
    )
    revenue = model_revenue(priced_tokens, billed_tokens)
    zero_filled = [c for c in (*capacity.columns, *revenue.columns) if c != "model"]
    cost, theoretical, billed = pl.col("gpu_cost_usd"), pl.col("theoretical_revenue_usd"), pl.col("billed_revenue_usd")
    is_model = pl.col("model") != UNATTRIBUTED
    return (
        capacity.join(revenue, on="model", how="full", coalesce=True)
        .with_columns(pl.col(zero_filled).fill_null(0))
        .with_columns(input_tokens=pl.col("cache_hit_tokens") + pl.col("cache_miss_tokens"))
        .with_columns(
            margin_usd=billed - cost,
            cost_profit_margin=pl.when(is_model).then(cost_profit_margin(theoretical, cost)),
            gross_margin=pl.when(is_model).then(gross_margin(theoretical, cost)),
            billed_gross_margin=pl.when(is_model).then(gross_margin(billed, cost)),
            all_tokens=pl.col("input_tokens") + pl.col("output_tokens"),
        )
        .with_columns(
            cost_per_million_tokens_usd=usd_per_million(cost, "all_tokens"),
            cost_per_million_input_usd=split(usd_per_million(pl.col("prefill_cost_usd"), "input_tokens")),
            cost_per_million_output_usd=split(usd_per_million(pl.col("decode_cost_usd"), "output_tokens")),
        )
        .select(COLUMNS)
        .sort(pl.col("model") == UNATTRIBUTED, "model")
    )


def reconcile(model_rows: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """The rows with the gaps between their sums and the day's figures on
    every row (``cost_gap_usd``, ``theoretical_revenue_gap_usd``,
    ``billed_revenue_gap_usd``; 0 when they add up)."""
    day = daily.row(0, named=True)
    return model_rows.with_columns(
        cost_gap_usd=pl.col("gpu_cost_usd").sum() - day["gpu_cost_usd"],
        theoretical_revenue_gap_usd=pl.col("theoretical_revenue_usd").sum() - day["theoretical_revenue_usd"],
        billed_revenue_gap_usd=pl.col("billed_revenue_usd").sum() - day["billed_revenue_usd"],
    )
