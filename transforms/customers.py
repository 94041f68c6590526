"""Per-customer unit economics: billed revenue, allocated GPU cost, margin.

Usage rows come from request-level logs: one row per customer, model, channel
and price period (``hour_start``: the first hour of the period). A period
ends wherever the billed price changes (a list price, or a time-of-day rule's
share of an hour), so each row is priced at the one billed price in force
throughout it and the customers' revenue adds up to the day's billed revenue.

Cost allocation: the day's serving GPU cost is split between prefill and
decode in proportion to their node-hours (idle node-hours are shared the same
way), then each customer carries the prefill share by its share of the day's
input tokens and the decode share by its share of output tokens. Models are
pooled: both roles' cost is shared across models. The customers' costs
therefore add up to the day's GPU cost.
"""

from __future__ import annotations

import polars as pl

from openbooks.transforms.efficiency import decode_cost_usd, prefill_cost_usd
from openbooks.transforms.pricing import PRICE_COLUMNS, card_prices, token_revenue_usd
from openbooks.transforms.ratios import gross_margin

TOKEN_COLUMNS = ("requests", "cache_hit_tokens", "cache_miss_tokens", "output_tokens")


def price_change_hours(hourly_prices: pl.DataFrame, hours: pl.DataFrame) -> list[int]:
    """Hour indexes (from the day's first hour) at which any list price
    changes: the starts of the day's price periods after the first."""
    indexed = hours.select("hour_start").with_row_index("h")
    changes = (
        hourly_prices.join(indexed, on="hour_start")
        .sort("card", "model", "h")
        .with_columns(
            changed=pl.any_horizontal(
                [(pl.col(c) != pl.col(c).shift(1).over("card", "model")) for c in PRICE_COLUMNS]
            )
            | (pl.col("h") != pl.col("h").shift(1).over("card", "model") + 1)
        )
        .filter(pl.col("changed") & (pl.col("h") > 0))
    )
    return sorted(set(changes["h"].to_list()))


def billed_revenue(usage: pl.DataFrame, hourly_prices: pl.DataFrame, *, card: str,
                   billable_channels: list[str]) -> pl.DataFrame:
    """Add ``billed_revenue_usd``: tokens of billable channels at the price of
    their own model in ``card`` (``hourly_prices``: list, or billed with the
    time-of-day rules applied); 0 for other channels; null where no price is
    in force. A model without its own price pays the card's ``"*"`` price,
    as in ``billing.bill_tokens``."""
    return (
        card_prices(usage, hourly_prices, card)
        .with_columns(
            billed_revenue_usd=pl.when(pl.col("channel").is_in(billable_channels))
            .then(token_revenue_usd())
            .otherwise(0.0)
        )
        .drop(*PRICE_COLUMNS)
    )


def unsplit_cost_usd(daily: pl.DataFrame) -> float:
    """The day's GPU cost when it has serving node-hours (prefill and decode
    on the same GPUs: no split, customers carry it by their share of all
    tokens); 0 otherwise."""
    day = daily.row(0, named=True)
    return float(day["gpu_cost_usd"]) if (day.get("serving_node_hours") or 0) > 0 else 0.0


def role_costs(daily: pl.DataFrame) -> tuple[float, float]:
    """The day's GPU cost split into (prefill, decode) by node-hours
    (``efficiency.prefill_cost_usd``, ``decode_cost_usd``); 0 without any
    (and 0 when not split: ``unsplit_cost_usd``)."""
    prefill, decode = daily.select(
        prefill=prefill_cost_usd().fill_null(0.0), decode=decode_cost_usd().fill_null(0.0)
    ).row(0)
    return prefill, decode


def role_cost_shares(gpu_cost_usd: float, prefill_node_hours: float, decode_node_hours: float) -> tuple[float, float]:
    """``role_costs`` of a day with this GPU cost and these node-hours."""
    day = {"gpu_cost_usd": gpu_cost_usd, "prefill_node_hours": prefill_node_hours,
           "decode_node_hours": decode_node_hours}
    return role_costs(pl.DataFrame({k: [float(v)] for k, v in day.items()}))


def customer_economics(priced_usage: pl.DataFrame, *, prefill_cost_usd: float, decode_cost_usd: float,
                       unsplit_cost_usd: float = 0.0) -> pl.DataFrame:
    """One row per customer: tokens, billed revenue, allocated cost, margin.

    ``priced_usage``: usage rows with ``billed_revenue_usd``. A day that is
    not split (``unsplit_cost_usd`` > 0) has null prefill and decode cost and
    allocates its cost by each customer's share of input + output tokens."""
    per_customer = priced_usage.group_by("customer_id").agg(
        *[pl.col(c).sum() for c in TOKEN_COLUMNS], pl.col("billed_revenue_usd").sum()
    )
    input_tokens = pl.col("cache_hit_tokens") + pl.col("cache_miss_tokens")

    def share(column: str) -> pl.Expr:
        total = pl.col(column).sum()
        return pl.when(total != 0).then(pl.col(column) / total)
    return (
        per_customer.with_columns(input_tokens=input_tokens)
        .with_columns(all_tokens=pl.col("input_tokens") + pl.col("output_tokens"))
        .with_columns(
            prefill_cost_usd=_when_split(share("input_tokens") * prefill_cost_usd, unsplit_cost_usd),
            decode_cost_usd=_when_split(share("output_tokens") * decode_cost_usd, unsplit_cost_usd),
        )
        .with_columns(allocated_cost_usd=_allocated(share, unsplit_cost_usd))
        .with_columns(
            margin_usd=pl.col("billed_revenue_usd") - pl.col("allocated_cost_usd"),
            gross_margin=gross_margin(pl.col("billed_revenue_usd"), pl.col("allocated_cost_usd")),
        )
        .select("customer_id", "requests", "input_tokens", "cache_hit_tokens", "cache_miss_tokens", "output_tokens",
                "billed_revenue_usd", "prefill_cost_usd", "decode_cost_usd", "allocated_cost_usd", "margin_usd",
                "gross_margin")
        .sort("billed_revenue_usd", "customer_id", descending=[True, False])
    )


def _when_split(cost: pl.Expr, unsplit_cost_usd: float) -> pl.Expr:
    return pl.lit(None, pl.Float64) if unsplit_cost_usd > 0 else cost


def _allocated(share, unsplit_cost_usd: float) -> pl.Expr:
    """Prefill + decode cost, or (not split) the cost by share of all tokens."""
    if unsplit_cost_usd > 0:
        return share("all_tokens") * unsplit_cost_usd
    return pl.col("prefill_cost_usd") + pl.col("decode_cost_usd")


def reconcile(customer_rows: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """The customers with two checks added on every row: how far their
    allocated cost and billed revenue, summed, are from the day's GPU cost and
    billed revenue (``cost_gap_usd``, ``revenue_gap_usd``; 0 when they add up)."""
    day = daily.row(0, named=True)
    return customer_rows.with_columns(
        cost_gap_usd=pl.col("allocated_cost_usd").sum() - day["gpu_cost_usd"],
        revenue_gap_usd=pl.col("billed_revenue_usd").sum() - day["billed_revenue_usd"],
    )
