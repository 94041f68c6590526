"""The economics in depth: billed revenue, the revenue waterfall, price-card
scenarios, fully loaded cost, capacity and cache figures and the claims audit.

The config (cards, rules, cost lines, claims file) becomes frames here; the
figures themselves are computed by the pure transforms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from openbooks.claims import load_claims
from openbooks.config import Config
from transforms import billing, cache, capacity, claims, efficiency, loaded_cost, pricing, scenarios, waterfall
from transforms.ratios import cost_profit_margin, gross_margin


@dataclass
class InDepth:
    hourly: pl.DataFrame  # the hourly statement with billed_revenue_usd
    daily: pl.DataFrame  # the daily statement with billed, loaded, capacity and cache figures
    waterfall: pl.DataFrame
    scenarios: pl.DataFrame
    cost_breakdown: pl.DataFrame
    claims_audit: pl.DataFrame


def rules_frame(config: Config) -> pl.DataFrame:
    """One row per card and time-of-day rule."""
    rows = [
        {
            "card": card_name, "rule": rule.name, "start": rule.start, "end": rule.end,
            "timezone": rule.timezone or config.price_book.timezone, "days": list(rule.days),
            "effective_from": rule.effective_from, "effective_to": rule.effective_to,
        }
        for card_name, card in config.price_book.cards.items()
        for rule in card.rules
    ]
    return pl.DataFrame(
        rows,
        schema={
            "card": pl.String, "rule": pl.String, "start": pl.Time, "end": pl.Time, "timezone": pl.String,
            "days": pl.List(pl.String), "effective_from": pl.Date, "effective_to": pl.Date,
        },
    )


def factors_frame(config: Config) -> pl.DataFrame:
    """One row per card, rule and model named in the rule: its price factor."""
    rows = [
        {"card": card_name, "rule": rule.name, "model": model, "factor": factor}
        for card_name, card in config.price_book.cards.items()
        for rule in card.rules
        for model, factor in rule.factors().items()
    ]
    return pl.DataFrame(rows, schema={"card": pl.String, "rule": pl.String, "model": pl.String, "factor": pl.Float64})


def owned_frame(config: Config, serving_node_log: pl.DataFrame) -> pl.DataFrame:
    """Owned nodes by GPU type: declared, else the day's peak serving nodes of that type."""
    rows = []
    for gpu_type, owned in config.costs.owned.items():
        steps = capacity.node_count_steps(serving_node_log.filter(pl.col("gpu_type") == gpu_type))
        peak = float(steps["nodes"].max()) if steps.height else 0.0
        rows.append({
            "gpu_type": gpu_type, "capex_usd_per_node": owned.capex_usd_per_node,
            "amortization_years": owned.amortization_years, "nodes": owned.nodes or peak,
        })
    return pl.DataFrame(
        rows,
        schema={"gpu_type": pl.String, "capex_usd_per_node": pl.Float64, "amortization_years": pl.Float64,
                "nodes": pl.Float64},
    )


def lines_frame(config: Config) -> pl.DataFrame:
    return pl.DataFrame(
        [{"line": name, "usd_per_day": line.usd_per_day, "usd_per_node_hour": line.usd_per_node_hour}
         for name, line in config.costs.lines.items()],
        schema={"line": pl.String, "usd_per_day": pl.Float64, "usd_per_node_hour": pl.Float64},
    )


def cost_lines(config: Config, costed: pl.DataFrame, hardware: pl.DataFrame, serving_node_log: pl.DataFrame,
               hours: float) -> pl.DataFrame:
    """The day's cost breakdown under the declared compute basis and cost lines."""
    role_hours = costed.group_by("gpu_type", "role").agg(pl.col("node_hours").sum())
    costs = config.costs
    if costs.compute == "owned":
        parts = [loaded_cost.amortization(owned_frame(config, serving_node_log), hours),
                 loaded_cost.training_transfer(role_hours, hardware)]
    else:
        parts = [loaded_cost.rental(role_hours, hardware)]
    if costs.power is not None:
        kw = pl.DataFrame({"role": list(costs.power.kw_per_node), "kw_per_node": list(costs.power.kw_per_node.values())},
                          schema={"role": pl.String, "kw_per_node": pl.Float64})
        parts.append(loaded_cost.power(role_hours, kw, pue=costs.power.pue, usd_per_kwh=costs.power.usd_per_kwh))
    serving_hours = float(role_hours.filter(pl.col("role").is_in(capacity.SERVING_ROLES))["node_hours"].sum())
    parts.append(loaded_cost.declared_lines(lines_frame(config), serving_node_hours=serving_hours, hours=hours))
    return loaded_cost.cost_breakdown(parts)


def claims_frame(config: Config) -> pl.DataFrame:
    schema = {"claim": pl.String, "figure": pl.String, "stated": pl.Float64, "tolerance": pl.Float64,
              "source": pl.String}
    path = config.claims_path
    rows = [] if path is None else [c.model_dump() for c in load_claims(path)]
    return pl.DataFrame(rows, schema=schema)


def in_depth(
    config: Config,
    *,
    day_start: datetime,
    day_end: datetime,
    hours: pl.DataFrame,
    serving_node_log: pl.DataFrame,
    costed: pl.DataFrame,
    hardware: pl.DataFrame,
    hourly_prices: pl.DataFrame,
    priced_tokens: pl.DataFrame,
    hourly: pl.DataFrame,
    daily: pl.DataFrame,
) -> InDepth:
    """Everything beyond the headline figures, for one business day."""
    book = config.price_book
    shares = billing.window_share_by_hour(billing.rule_windows(rules_frame(config), day_start, day_end), hours)
    factors = factors_frame(config)

    def bill(card: str) -> pl.DataFrame:
        return billing.bill_tokens(priced_tokens, hourly_prices, shares, factors, card=card,
                                   billable_channels=list(book.billable_channels))

    billed = bill(book.card)
    hourly = (
        hourly.join(billing.hourly_billed(billed), on="hour_start", how="left")
        .with_columns(pl.col("billed_revenue_usd").fill_null(0.0))
    )
    breakdown = cost_lines(config, costed, hardware, serving_node_log, float(daily["hours"][0]))
    loaded = loaded_cost.loaded_cost_usd(breakdown)
    gpu = pl.col("gpu_cost_usd")
    at_reference = priced_tokens.join(
        pricing.reference_prices(hourly_prices, card=book.card, reference_model=book.reference_model),
        on="hour_start", how="left",
    )
    gpu_type = config.cache.gpu_type or next(iter(config.hardware))
    daily = (
        daily.with_columns(
            billed_revenue_usd=pl.lit(float(billed["billed_revenue_usd"].sum())),
            loaded_cost_usd=pl.lit(loaded),
            training_node_hours_credit_usd=pl.lit(efficiency.training_credit_usd(costed)),
            cache_discount_usd=pl.lit(float(at_reference.select(cache.cache_discount_usd().sum()).item())),
        )
        .with_columns(
            billed_gross_margin=gross_margin(pl.col("billed_revenue_usd"), gpu),
            loaded_cost_profit_margin=cost_profit_margin(pl.col("theoretical_revenue_usd"), pl.col("loaded_cost_usd")),
            loaded_gross_margin=gross_margin(pl.col("theoretical_revenue_usd"), pl.col("loaded_cost_usd")),
            billed_loaded_gross_margin=gross_margin(pl.col("billed_revenue_usd"), pl.col("loaded_cost_usd")),
        )
        .with_columns(efficiency.efficiency_columns())
        .with_columns(cache.cache_columns(
            tokens_per_node_second=config.cache.prefill_tokens_per_node_second,
            gpus_per_node=float(config.hardware[gpu_type].gpus_per_node),
            rental_usd_per_gpu_hour=config.hardware[gpu_type].rental_usd_per_gpu_hour,
        ))
    )
    revenues = pl.concat([scenarios.card_revenue(bill(card), card) for card in book.scenario_cards])
    scenario_table = scenarios.revenue_scenarios(
        revenues, gpu_cost_usd=float(daily["gpu_cost_usd"][0]), loaded_cost_usd=loaded
    )
    audit = claims.claims_audit(claims_frame(config), claims.day_figures(daily, scenario_table))
    return InDepth(hourly, daily, waterfall.revenue_waterfall(billed), scenario_table, breakdown, audit)


def checked_frames(waterfall_table: pl.DataFrame, breakdown: pl.DataFrame) -> tuple[tuple[str, pl.DataFrame], ...]:
    """Result frames the GX suites of the same name check: the waterfall
    reconciled per model (steps against billed revenue) and the cost lines."""
    return ("revenue_waterfall", waterfall.reconcile(waterfall_table)), ("cost_breakdown", breakdown)
