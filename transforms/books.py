"""A day's books in one pass: the day's logs and its compiled inputs
(``inputs.DayInputs``) in, every published frame out.

``compute_day`` runs, in order: the hour grid and node-hours (capacity,
cost), prices and revenue (pricing, billing), the statements (statements),
then the economics in depth (loaded cost, efficiency, cache, scenarios,
waterfall, claims). Nothing goes back to the config.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from openbooks.transforms import (
    billing, cache, calendar, capacity, claims, cost, efficiency, invoices as invoicing, loaded_cost, models, pricing,
    scenarios, statements, waterfall,
)
from openbooks.transforms.inputs import DayInputs
from openbooks.transforms.figures import exprs


@dataclass(frozen=True)
class DayPrices:
    hours: pl.DataFrame  # the day's hour grid
    listed: pl.DataFrame  # every card's list price per hour and model
    shares: pl.DataFrame  # each hour's share inside each time-of-day rule
    billed: pl.DataFrame  # the billing card's prices per hour, rules applied


@dataclass(frozen=True)
class DayBooks:
    hourly: pl.DataFrame
    daily: pl.DataFrame
    steps: pl.DataFrame  # the serving node-count step function
    waterfall: pl.DataFrame
    scenarios: pl.DataFrame
    cost_breakdown: pl.DataFrame
    claims_audit: pl.DataFrame
    models: pl.DataFrame  # model_economics
    prices: DayPrices
    gpu_cost_check: pl.DataFrame | None = None  # declared-rate against invoiced cost per GPU type (with an invoice)
    capacity: pl.DataFrame | None = None  # node-hours, GPU-hours and cost per GPU type and role (capacity_by_role)


def day_prices(inputs: DayInputs) -> DayPrices:
    """The day's list prices and time-of-day shares, and the billed prices they make."""
    hours = calendar.hour_grid(inputs.day_start, inputs.day_end)
    listed = pricing.prices_by_hour(inputs.prices, hours)
    shares = billing.rule_shares(inputs.rules, hours, inputs.day_start, inputs.day_end)
    billed = billing.billed_prices_by_hour(listed, shares, inputs.factors, card=inputs.card)
    return DayPrices(hours, listed, shares, billed)


def compute_day(inputs: DayInputs, node_log: pl.DataFrame, token_counts: pl.DataFrame,
                invoices: pl.DataFrame | None = None) -> DayBooks:
    """The day's statements, step function and economics in depth; given the
    day's invoiced GPU charges (``invoices.py``), the invoiced cost beside them."""
    prices = day_prices(inputs)
    hours = prices.hours
    nodes = capacity.clip_to_day(capacity.nodes_from_gpus(node_log, inputs.hardware), inputs.day_start, inputs.day_end)
    nodes = capacity.with_fleet(nodes, inputs.fleet, inputs.day_start, inputs.day_end)
    serving = capacity.serving(nodes)
    steps = capacity.node_count_steps(serving)
    costed = cost.gpu_cost(capacity.node_hours_by_hour(nodes, hours), inputs.hardware)
    tokens = token_counts.filter(pl.col("within_day")) if "within_day" in token_counts.columns else token_counts
    priced = pricing.theoretical_revenue(tokens, prices.listed, card=inputs.card,
                                         reference_model=inputs.reference_model)
    hourly = statements.hourly_economics(hours, costed, priced, capacity.coverage_by_hour(steps, hours))
    daily = statements.daily_economics(hourly, steps, day=inputs.day, day_start=inputs.day_start,
                                       day_end=inputs.day_end, reference_model=inputs.reference_model)

    billed = billing.bill_tokens(priced, prices.listed, prices.shares, inputs.factors, card=inputs.card,
                                 billable_channels=list(inputs.billable_channels))
    hourly = (
        hourly.join(billing.hourly_billed(billed), on="hour_start", how="left")
        .with_columns(pl.col("billed_revenue_usd").fill_null(0.0), day=pl.lit(inputs.day))
    )
    breakdown = loaded_cost.cost_lines(inputs, costed, serving, float(daily["hours"][0]))
    daily = invoicing.invoiced_daily(in_depth_daily(inputs, daily, costed, priced, prices.listed, billed, breakdown),
                                     invoices)
    check = None if invoices is None else invoicing.gpu_cost_check(costed, invoices, inputs.hardware).with_columns(day=pl.lit(inputs.day))
    cards = list(inputs.scenario_cards)
    revenues = scenarios.cards_revenue(
        billing.bill_tokens_on_cards(priced, prices.listed, prices.shares, inputs.factors, cards=cards,
                                     billable_channels=list(inputs.billable_channels)),
        cards,
    )
    scenario_table = scenarios.revenue_scenarios(
        revenues, gpu_cost_usd=float(daily["gpu_cost_usd"][0]), loaded_cost_usd=loaded_cost.loaded_cost_usd(breakdown)
    )
    audit = claims.claims_audit(inputs.claims, claims.day_figures(daily, scenario_table), inputs.day)
    return DayBooks(hourly, daily, steps, waterfall.revenue_waterfall(billed), scenario_table, breakdown, audit,
                    models.model_economics(costed, priced, billed).with_columns(day=pl.lit(inputs.day)), prices,
                    check, cost.by_gpu_type_and_role(costed))


def in_depth_daily(inputs: DayInputs, daily: pl.DataFrame, costed: pl.DataFrame, priced: pl.DataFrame,
                   listed: pl.DataFrame, billed: pl.DataFrame, breakdown: pl.DataFrame) -> pl.DataFrame:
    """``daily_economics`` with billed revenue, loaded cost, margins on them,
    capacity, efficiency and cache figures."""
    at_reference = priced.join(
        pricing.reference_prices(listed, card=inputs.card, reference_model=inputs.reference_model),
        on="hour_start", how="left",
    )
    cache_gpu = inputs.hardware.filter(pl.col("gpu_type") == inputs.cache_gpu_type).row(0, named=True)
    return (
        daily.with_columns(
            billed_revenue_usd=pl.lit(float(billed["billed_revenue_usd"].sum())),
            loaded_cost_usd=pl.lit(loaded_cost.loaded_cost_usd(breakdown)),
            training_node_hours_credit_usd=pl.lit(cost.role_rental_usd(costed, inputs.hardware, ("training",))),
            cache_discount_usd=pl.lit(float(at_reference.select(cache.cache_discount_usd().sum()).item())),
        )
        .with_columns(exprs("billed_gross_margin", "loaded_cost_profit_margin", "loaded_gross_margin",
                            "billed_loaded_gross_margin"))
        .with_columns(efficiency_columns())
        .with_columns(cache.cache_columns(
            tokens_per_node_second=inputs.cache_tokens_per_node_second,
            gpus_per_node=cache_gpu["gpus_per_node"],
            rental_usd_per_gpu_hour=cache_gpu["rental_usd_per_gpu_hour"],
        ))
    )


def efficiency_columns() -> list[pl.Expr]:
    """The capacity and efficiency columns of ``daily_economics`` (the rates
    among them from the figure catalogue, ``transforms/figures.py``)."""
    return [
        efficiency.idle_capacity_node_hours().alias("idle_capacity_node_hours"),
        *exprs("idle_capacity_share"),
        efficiency.idle_capacity_usd().alias("idle_capacity_usd"),
        *exprs("prefill_input_tokens_per_node_second", "decode_output_tokens_per_node_second",
               "cost_per_million_input_usd", "cost_per_million_output_usd",
               "break_even_output_price_usd", "loaded_break_even_output_price_usd"),
    ]
