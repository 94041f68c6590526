"""Compute: the day's statements from its staged inputs, by the pure transforms.

The config becomes frames here (hardware, prices); everything else is a call
into ``transforms/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import polars as pl

from flows.economics import factors_frame, in_depth, rules_frame
from openbooks.config import Config
from transforms import billing, calendar, capacity, checks, cost, customers, economics, pricing


@dataclass(frozen=True)
class DayWindow:
    day: date
    start: datetime
    end: datetime

    @property
    def hours(self) -> int:
        return len(calendar.hour_grid(self.start, self.end))


@dataclass
class Books:
    """A computed day: every frame a run validates and publishes."""

    window: DayWindow
    node_log: pl.DataFrame  # staged, flagged
    token_counts: pl.DataFrame  # staged, flagged
    hourly: pl.DataFrame
    daily: pl.DataFrame
    steps: pl.DataFrame
    # the economics in depth (flows/economics.py)
    waterfall: pl.DataFrame = field(default_factory=pl.DataFrame)
    scenarios: pl.DataFrame = field(default_factory=pl.DataFrame)
    cost_breakdown: pl.DataFrame = field(default_factory=pl.DataFrame)
    claims_audit: pl.DataFrame = field(default_factory=pl.DataFrame)
    customers: pl.DataFrame | None = None  # customer_economics, from request-level logs


def day_window(config: Config, day: date) -> DayWindow:
    start, end = calendar.day_window(day, config.business_day.timezone, config.business_day.start)
    return DayWindow(day, start, end)


def hardware_frame(config: Config) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "gpu_type": list(config.hardware),
            "gpus_per_node": [float(g.gpus_per_node) for g in config.hardware.values()],
            "rental_usd_per_gpu_hour": [g.rental_usd_per_gpu_hour for g in config.hardware.values()],
        },
        schema={"gpu_type": pl.String, "gpus_per_node": pl.Float64, "rental_usd_per_gpu_hour": pl.Float64},
    )


def _instant(day: date | None, zone: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def price_frame(config: Config) -> pl.DataFrame:
    """Every card's price periods, effective dates read in the price book's timezone."""
    zone = ZoneInfo(config.price_book.timezone)
    rows = [
        {
            "card": card_name,
            "model": model,
            "effective_from": _instant(p.effective_from, zone),
            "effective_to": _instant(p.effective_to, zone),
            "input_cache_hit": p.input_cache_hit,
            "input_cache_miss": p.input_cache_miss,
            "output": p.output,
        }
        for card_name, card in config.price_book.cards.items()
        for model, periods in card.models.items()
        for p in periods
    ]
    timestamp = pl.Datetime("us", "UTC")
    return pl.DataFrame(
        rows,
        schema={
            "card": pl.String, "model": pl.String, "effective_from": timestamp, "effective_to": timestamp,
            "input_cache_hit": pl.Float64, "input_cache_miss": pl.Float64, "output": pl.Float64,
        },
    )


def flag_node_log(window: DayWindow, node_log: pl.DataFrame) -> pl.DataFrame:
    return checks.flag_node_rows(node_log, window.start, window.end)


def token_counts(window: DayWindow, staged: pl.DataFrame | None, from_requests: pl.DataFrame | None) -> pl.DataFrame:
    """The day's token counts, flagged: the staged ``token_counts`` rows and
    the request logs' hourly totals (either may be absent, not both)."""
    frames = [f for f in (staged, from_requests) if f is not None]
    if len(frames) > 1:
        frames[1] = frames[1].select(frames[0].columns)
    return checks.flag_token_rows(pl.concat(frames, how="vertical_relaxed"), window.start, window.end)


def compute_books(config: Config, window: DayWindow, node_log: pl.DataFrame, token_counts: pl.DataFrame) -> Books:
    """The day's hourly and daily statements and its node-count step function."""
    hours = calendar.hour_grid(window.start, window.end)
    nodes = capacity.clip_to_day(node_log, window.start, window.end)
    serving = capacity.serving(nodes)
    steps = capacity.node_count_steps(serving)
    costed = cost.gpu_cost(capacity.node_hours_by_hour(nodes, hours), hardware_frame(config))
    hourly_prices = pricing.prices_by_hour(price_frame(config), hours)
    tokens = token_counts.filter(pl.col("within_day")) if "within_day" in token_counts.columns else token_counts
    priced = pricing.theoretical_revenue(
        tokens, hourly_prices, card=config.price_book.card, reference_model=config.price_book.reference_model
    )
    hourly = economics.hourly_economics(hours, costed, priced, capacity.coverage_by_hour(steps, hours))
    daily = economics.daily_economics(
        hourly, steps, day=window.day, day_start=window.start, day_end=window.end,
        reference_model=config.price_book.reference_model,
    )
    deep = in_depth(
        config, day_start=window.start, day_end=window.end, hours=hours, serving_node_log=serving, costed=costed,
        hardware=hardware_frame(config), hourly_prices=hourly_prices, priced_tokens=priced, hourly=hourly, daily=daily,
    )
    return Books(window, node_log, token_counts, deep.hourly.with_columns(day=pl.lit(window.day)), deep.daily, steps,
                 deep.waterfall, deep.scenarios, deep.cost_breakdown, deep.claims_audit)


def billed_prices(config: Config, window: DayWindow) -> pl.DataFrame:
    """The billing card's prices each hour of the day, time-of-day rules applied."""
    hours = calendar.hour_grid(window.start, window.end)
    shares = billing.window_share_by_hour(billing.rule_windows(rules_frame(config), window.start, window.end), hours)
    return billing.billed_prices_by_hour(
        pricing.prices_by_hour(price_frame(config), hours), shares, factors_frame(config), card=config.price_book.card
    )


def price_change_hours(config: Config, window: DayWindow) -> list[int]:
    """Hours of the day (from its first) at which a billed price changes: a
    list price, or a time-of-day rule's share of the hour."""
    hours = calendar.hour_grid(window.start, window.end)
    return customers.price_change_hours(billed_prices(config, window), hours)


def customer_books(config: Config, books: Books, usage: pl.DataFrame) -> pl.DataFrame:
    """``customer_economics`` of the day: request-level usage priced at the
    billed price of each price period, and costed."""
    priced = customers.billed_revenue(
        usage, billed_prices(config, books.window), card=config.price_book.card,
        billable_channels=config.price_book.billable_channels,
    )
    day = books.daily.row(0, named=True)
    prefill, decode = customers.role_cost_shares(
        day["gpu_cost_usd"], day["prefill_node_hours"], day["decode_node_hours"]
    )
    return customers.customer_economics(priced, prefill_cost_usd=prefill, decode_cost_usd=decode).with_columns(
        day=pl.lit(books.window.day)
    )
