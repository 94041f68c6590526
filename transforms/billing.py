"""Billed revenue: each model's tokens at its own price on a card, time-of-day
rules applied, only billable channels paying.

A card's prices come from ``pricing.prices_by_hour``; a model without its own
price takes the card's ``"*"`` price. A time-of-day rule is a daily window
with a price factor per model (0.5 is 50% off, 2.0 is twice list). Each hour
is billed at ``1 + Σ share × (factor − 1)`` over the rules, ``share`` being
the part of the hour inside the rule's window: an hour half inside a 50%-off
window is billed at 75% of list. Overlapping rules add their adjustments.

Frames:
- rules: ``card``, ``rule``, ``start`` and ``end`` (local ``time``; ``end`` at
  or before ``start`` crosses midnight), ``timezone``, ``days`` (list of
  ``mon``…``sun``: days a window starts on), ``effective_from`` and
  ``effective_to`` (local dates, ``effective_to`` exclusive, may be null).
- factors: ``card``, ``rule``, ``model`` (or ``"*"``), ``factor``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from openbooks.transforms.calendar import hours_between
from openbooks.transforms.pricing import PRICE_COLUMNS, card_prices, own_else_any, token_revenue_usd

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_SCHEMA = {
    "card": pl.String, "rule": pl.String,
    "window_start": pl.Datetime("us", "UTC"), "window_end": pl.Datetime("us", "UTC"),
}


def _rule_windows(rule: dict, day_start: datetime, day_end: datetime) -> list[dict]:
    zone = ZoneInfo(rule["timezone"])
    first = day_start.astimezone(zone).date() - timedelta(days=1)
    last = day_end.astimezone(zone).date()
    until = rule["effective_to"] or date.max
    windows = []
    for offset in range((last - first).days + 1):
        local_day = first + timedelta(days=offset)
        if WEEKDAYS[local_day.weekday()] not in rule["days"]:
            continue
        if not rule["effective_from"] <= local_day < until:
            continue
        end_day = local_day if rule["end"] > rule["start"] else local_day + timedelta(days=1)
        start = datetime.combine(local_day, rule["start"], tzinfo=zone).astimezone(UTC)
        end = datetime.combine(end_day, rule["end"], tzinfo=zone).astimezone(UTC)
        if start < day_end and end > day_start:
            windows.append({"card": rule["card"], "rule": rule["rule"], "window_start": start, "window_end": end})
    return windows


def rule_windows(rules: pl.DataFrame, day_start: datetime, day_end: datetime) -> pl.DataFrame:
    """Every window of every rule that touches ``[day_start, day_end)``, in UTC,
    on the days and effective dates the rule declares."""
    windows = [w for rule in rules.iter_rows(named=True) for w in _rule_windows(rule, day_start, day_end)]
    return pl.DataFrame(windows, schema=WINDOW_SCHEMA)


def rule_shares(rules: pl.DataFrame, hours: pl.DataFrame, day_start: datetime, day_end: datetime) -> pl.DataFrame:
    """``share`` of each hour of the day inside each rule's windows."""
    return window_share_by_hour(rule_windows(rules, day_start, day_end), hours)


def window_share_by_hour(windows: pl.DataFrame, hours: pl.DataFrame) -> pl.DataFrame:
    """``share``: the part of each hour inside each rule's windows (0 to 1),
    per ``hour_start``, ``card`` and ``rule``; hours outside every window absent."""
    return (
        windows.join_where(
            hours.select("hour_start", "hour_end", "hours"),
            pl.col("window_start") < pl.col("hour_end"),
            pl.col("window_end") > pl.col("hour_start"),
        )
        .with_columns(
            share=hours_between(
                pl.max_horizontal("window_start", "hour_start"), pl.min_horizontal("window_end", "hour_end")
            )
            / pl.col("hours")
        )
        .group_by("hour_start", "card", "rule")
        .agg(pl.col("share").sum())
        .sort("hour_start", "card", "rule")
    )


def price_factor(tokens: pl.DataFrame, shares: pl.DataFrame, factors: pl.DataFrame, card: str) -> pl.DataFrame:
    """Add ``price_factor``: what share of list each row's hour and model is
    billed at under the card's time-of-day rules (1.0 outside every window)."""
    return _with_price_factor(tokens, _of_card(shares, card), _of_card(factors, card), [])


def _of_card(frame: pl.DataFrame, card: str) -> pl.DataFrame:
    return frame.filter(pl.col("card") == card).drop("card")


def _with_price_factor(rows: pl.DataFrame, shares: pl.DataFrame, factors: pl.DataFrame,
                       by: list[str]) -> pl.DataFrame:
    """``price_factor`` of rows keyed by ``by`` (nothing, or the card), the
    hour and the model: 1 + Σ share × (factor − 1) over the rules whose
    windows the hour is in."""
    keys = rows.select(*by, "hour_start", "model").unique()
    in_window = keys.join(shares, on=[*by, "hour_start"])
    adjustments = (
        own_else_any(in_window, factors, [*by, "rule"], ["factor"])
        .filter(pl.col("factor").is_not_null())
        .group_by(*by, "hour_start", "model")
        .agg(adjustment=(pl.col("share") * (pl.col("factor") - 1)).sum())
    )
    return (
        rows.join(adjustments, on=[*by, "hour_start", "model"], how="left", maintain_order="left")
        .with_columns(price_factor=1 + pl.col("adjustment").fill_null(0.0))
        .drop("adjustment")
    )


def bill_tokens(
    tokens: pl.DataFrame,
    hourly_prices: pl.DataFrame,
    shares: pl.DataFrame,
    factors: pl.DataFrame,
    *,
    card: str,
    billable_channels: list[str],
) -> pl.DataFrame:
    """Add, per token row, on ``card``: ``list_revenue_usd`` (the row's tokens
    at its model's list price, whatever the channel), ``billable`` (the
    channel pays), ``price_factor`` and ``billed_revenue_usd`` (list revenue ×
    price factor on billable rows, 0 on free ones)."""
    return _billed(card_prices(tokens, hourly_prices, card), _of_card(shares, card), _of_card(factors, card), [],
                   billable_channels)


def bill_tokens_on_cards(
    tokens: pl.DataFrame,
    hourly_prices: pl.DataFrame,
    shares: pl.DataFrame,
    factors: pl.DataFrame,
    *,
    cards: list[str],
    billable_channels: list[str],
) -> pl.DataFrame:
    """``bill_tokens`` on each of ``cards`` at once: the token rows once per
    card (in the order of ``cards``), with ``card``."""
    on_cards = (pl.concat([tokens.with_columns(card=pl.lit(card, pl.String)) for card in cards]) if cards
                else tokens.clear().with_columns(card=pl.lit(None, pl.String)))
    priced = own_else_any(on_cards, hourly_prices, ["card", "hour_start"], list(PRICE_COLUMNS))
    return _billed(priced, shares, factors, ["card"], billable_channels)


def _billed(priced: pl.DataFrame, shares: pl.DataFrame, factors: pl.DataFrame, by: list[str],
            billable_channels: list[str]) -> pl.DataFrame:
    """Token rows with their list prices (``PRICE_COLUMNS``) billed: list
    revenue, price factor, whether the channel pays, billed revenue."""
    return (
        priced.with_columns(list_revenue_usd=token_revenue_usd())
        .drop(*PRICE_COLUMNS)
        .pipe(_with_price_factor, shares, factors, by)
        .with_columns(billable=pl.col("channel").is_in(billable_channels))
        .with_columns(billed_revenue_usd=billed_revenue_usd())
    )


def billed_prices_by_hour(
    hourly_prices: pl.DataFrame, shares: pl.DataFrame, factors: pl.DataFrame, *, card: str
) -> pl.DataFrame:
    """The card's prices in force each hour with its time-of-day rules applied
    (list price × price factor): the price a billable token actually paid."""
    return (
        price_factor(hourly_prices.filter(pl.col("card") == card), shares, factors, card)
        .with_columns(pl.col(c) * pl.col("price_factor") for c in PRICE_COLUMNS)
        .drop("price_factor")
    )


def billed_revenue_usd() -> pl.Expr:
    """List revenue × price factor where the channel pays, else 0."""
    return pl.when(pl.col("billable")).then(pl.col("list_revenue_usd") * pl.col("price_factor")).otherwise(0.0)


def hourly_billed(billed: pl.DataFrame) -> pl.DataFrame:
    """``billed_revenue_usd`` per hour."""
    return billed.group_by("hour_start").agg(pl.col("billed_revenue_usd").sum())
