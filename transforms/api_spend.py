"""Hosted-API spend beside the day's GPU cost (pure Polars).

A day's API spend (e.g. OpenAI's Costs API, ``flows/sources/openai_costs.py``)
is what the team paid a provider for tokens no GPU of its fleet served; it is
published beside the GPU cost, not added to it.
"""

from __future__ import annotations

import polars as pl


def api_spend_usd(spend: pl.DataFrame) -> float:
    """The day's API spend: every bucket, project and line item."""
    return float(spend["amount_usd"].sum())


def api_spend_table(spend: pl.DataFrame, gpu_cost_usd: float) -> pl.DataFrame:
    """One row per bucket, project and line item, with the day's API spend and
    GPU cost beside it and their ratio (null without GPU cost)."""
    total = api_spend_usd(spend)
    ratio = total / gpu_cost_usd if gpu_cost_usd else None
    return spend.select(
        "bucket_start", "bucket_end", "project_id", "line_item", "amount_usd",
        pl.lit(total, dtype=pl.Float64).alias("day_api_spend_usd"),
        pl.lit(gpu_cost_usd, dtype=pl.Float64).alias("gpu_cost_usd"),
        pl.lit(ratio, dtype=pl.Float64).alias("api_spend_to_gpu_cost"),
        "source_file",
    )
