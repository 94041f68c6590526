"""Revenue scenarios: the same tokens at each price card, against the day's cost."""

from __future__ import annotations

import polars as pl

from openbooks.transforms.ratios import cost_profit_margin, gross_margin


def cards_revenue(billed: pl.DataFrame, cards: list[str]) -> pl.DataFrame:
    """One row per card of ``cards``, in that order, from token rows billed on
    them all (``billing.bill_tokens_on_cards``): ``revenue_usd`` (every token
    at the card's list price for its model; null if a model has no price on
    the card) and ``billed_revenue_usd`` (billable channels, time-of-day rules
    applied)."""
    unpriced = pl.col("list_revenue_usd").is_null().any()
    # Sorted by card, each card's rows a slice summed in order: a card's sums are
    # what summing its rows alone gives, to the last bit.
    sums = billed.sort("card", maintain_order=True).group_by("card", maintain_order=True).agg(
        revenue_usd=pl.when(unpriced).then(None).otherwise(pl.col("list_revenue_usd").sum()),
        billed_revenue_usd=pl.when(unpriced).then(None).otherwise(pl.col("billed_revenue_usd").sum()),
    )
    revenues = pl.DataFrame({"card": cards}, schema={"card": pl.String}).join(sums, on="card", how="left",
                                                                              maintain_order="left")
    if billed.is_empty():  # no token all day: nothing earned on any card (as a sum over no rows)
        revenues = revenues.with_columns(pl.col("revenue_usd", "billed_revenue_usd").fill_null(0.0))
    return revenues


def revenue_scenarios(revenues: pl.DataFrame, *, gpu_cost_usd: float, loaded_cost_usd: float) -> pl.DataFrame:
    """Per card: revenue, billed revenue, and margins against GPU cost and
    against the fully loaded cost."""
    revenue, gpu, loaded = pl.col("revenue_usd"), pl.lit(gpu_cost_usd), pl.lit(loaded_cost_usd)
    return revenues.with_columns(
        gpu_cost_usd=gpu,
        loaded_cost_usd=loaded,
        cost_profit_margin=cost_profit_margin(revenue, gpu),
        gross_margin=gross_margin(revenue, gpu),
        loaded_gross_margin=gross_margin(revenue, loaded),
        billed_gross_margin=gross_margin(pl.col("billed_revenue_usd"), gpu),
    )
