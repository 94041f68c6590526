"""List prices in force each hour, and revenue from token counts.

A prices frame has one row per card, model and price period: ``card``,
``model``, ``effective_from`` and ``effective_to`` (UTC, ``effective_to`` may
be null for open-ended), ``input_cache_hit``, ``input_cache_miss`` and
``output`` in USD per million tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

PRICE_COLUMNS = ("input_cache_hit", "input_cache_miss", "output")
ANY_MODEL = "*"  # a card's price for every model it does not name
_OPEN_END = datetime(9999, 1, 1, tzinfo=UTC)


def prices_by_hour(prices: pl.DataFrame, hours: pl.DataFrame) -> pl.DataFrame:
    """The price of each card and model in force at each ``hour_start``."""
    return (
        prices.with_columns(pl.col("effective_to").fill_null(pl.lit(_OPEN_END).dt.cast_time_unit("us")))
        .join_where(
            hours.select("hour_start"),
            pl.col("effective_from") <= pl.col("hour_start"),
            pl.col("effective_to") > pl.col("hour_start"),
        )
        .select("hour_start", "card", "model", *PRICE_COLUMNS)
        .sort("hour_start", "card", "model")
    )


def token_revenue_usd() -> pl.Expr:
    """Revenue of token counts at per-million prices: cache-hit input × hit
    price + cache-miss input × miss price + output × output price, / 10⁶."""
    return (
        pl.col("cache_hit_tokens") * pl.col("input_cache_hit")
        + pl.col("cache_miss_tokens") * pl.col("input_cache_miss")
        + pl.col("output_tokens") * pl.col("output")
    ) / 1_000_000


def own_else_any(frame: pl.DataFrame, keyed: pl.DataFrame, on: list[str], values: list[str]) -> pl.DataFrame:
    """Join ``keyed``'s ``values`` by ``on`` + model; where the model has no
    row, take the row of model ``"*"`` (a card's price, a rule's factor)."""
    own = keyed.filter(pl.col("model") != ANY_MODEL)
    fallback = keyed.filter(pl.col("model") == ANY_MODEL).drop("model").rename({v: f"{v}__any" for v in values})
    return (
        frame.join(own, on=[*on, "model"], how="left", maintain_order="left")
        .join(fallback, on=on, how="left", maintain_order="left")
        .with_columns(pl.coalesce(v, f"{v}__any").alias(v) for v in values)
        .drop(f"{v}__any" for v in values)
    )


def card_prices(tokens: pl.DataFrame, hourly_prices: pl.DataFrame, card: str) -> pl.DataFrame:
    """Add the card's ``input_cache_hit``, ``input_cache_miss`` and ``output``
    price for each row's model and hour (its own, else the card's ``"*"``
    price; null where the card has neither)."""
    prices = hourly_prices.filter(pl.col("card") == card).drop("card")
    return own_else_any(tokens, prices, ["hour_start"], list(PRICE_COLUMNS))


def reference_prices(hourly_prices: pl.DataFrame, *, card: str, reference_model: str) -> pl.DataFrame:
    """The reference model's price on ``card`` at each ``hour_start`` (its own
    price, else the card's ``"*"`` price), one row per hour with a price."""
    hours = hourly_prices.filter(pl.col("card") == card).select("hour_start").unique(maintain_order=True)
    return (
        card_prices(hours.with_columns(model=pl.lit(reference_model)), hourly_prices, card)
        .filter(pl.all_horizontal(pl.col(c).is_not_null() for c in PRICE_COLUMNS))
        .drop("model")
    )


def theoretical_revenue(
    tokens: pl.DataFrame, hourly_prices: pl.DataFrame, *, card: str, reference_model: str
) -> pl.DataFrame:
    """Add ``theoretical_revenue_usd``: every token, whatever its model or
    channel, at the reference model's list price (DeepSeek's 'theoretical
    income'). Null where that price is not in force."""
    return (
        tokens.join(reference_prices(hourly_prices, card=card, reference_model=reference_model),
                    on="hour_start", how="left")
        .with_columns(theoretical_revenue_usd=token_revenue_usd())
        .drop(*PRICE_COLUMNS)
    )
