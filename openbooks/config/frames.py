"""Compile the config into the frames the transforms need, in one step.

``compile_frames`` is the only place a ``Config`` becomes data for
``transforms/``: hardware, price cards and their time-of-day rules, the cost
basis and cost lines, and the claims file (read here). The transforms then
run in one pass over these frames and the day's logs (``flows/stages/compute.py``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import polars as pl

from openbooks.claims import load_claims
from openbooks.config import Config
from openbooks.transforms import customers
from openbooks.transforms.books import day_prices
from openbooks.transforms.inputs import DayInputs, PowerCost
from openbooks.transforms.plausibility import BOUNDS_SCHEMA

TIMESTAMP = pl.Datetime("us", "UTC")


def compile_frames(config: Config, day: date, day_start: datetime, day_end: datetime) -> DayInputs:
    """Everything the day's books are computed from besides its logs."""
    book, costs = config.price_book, config.costs
    return DayInputs(
        day=day, day_start=day_start, day_end=day_end,
        hardware=hardware_frame(config), prices=price_frame(config),
        rules=rules_frame(config), factors=factors_frame(config),
        card=book.card, reference_model=book.reference_model,
        billable_channels=tuple(book.billable_channels), scenario_cards=tuple(book.scenario_cards),
        compute=costs.compute, owned=owned_frame(config), power=power_cost(config), lines=lines_frame(config),
        cache_tokens_per_node_second=config.cache.prefill_tokens_per_node_second,
        cache_gpu_type=config.cache.gpu_type or next(iter(config.hardware)),
        claims=claims_frame(config), fleet=fleet_frame(config),
    )


def hardware_frame(config: Config) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "gpu_type": list(config.hardware),
            "gpus_per_node": [float(g.gpus_per_node) for g in config.hardware.values()],
            "rental_usd_per_gpu_hour": [g.rental_usd_per_gpu_hour for g in config.hardware.values()],
        },
        schema={"gpu_type": pl.String, "gpus_per_node": pl.Float64, "rental_usd_per_gpu_hour": pl.Float64},
    )


def fleet_frame(config: Config) -> pl.DataFrame:
    """GPU types with a declared fleet size (``hardware.<gpu_type>.fleet_nodes``)."""
    return pl.DataFrame(
        [{"gpu_type": name, "fleet_nodes": float(g.fleet_nodes)} for name, g in config.hardware.items()
         if g.fleet_nodes is not None],
        schema={"gpu_type": pl.String, "fleet_nodes": pl.Float64},
    )


def _instant(day: date | None, zone: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def price_frame(config: Config) -> pl.DataFrame:
    """Every card's price periods, effective dates read in the price book's timezone."""
    zone = ZoneInfo(config.price_book.timezone)
    rows = [
        {
            "card": card_name, "model": model,
            "effective_from": _instant(p.effective_from, zone), "effective_to": _instant(p.effective_to, zone),
            "input_cache_hit": p.input_cache_hit, "input_cache_miss": p.input_cache_miss, "output": p.output,
        }
        for card_name, card in config.price_book.cards.items()
        for model, periods in card.models.items()
        for p in periods
    ]
    return pl.DataFrame(
        rows,
        schema={
            "card": pl.String, "model": pl.String, "effective_from": TIMESTAMP, "effective_to": TIMESTAMP,
            "input_cache_hit": pl.Float64, "input_cache_miss": pl.Float64, "output": pl.Float64,
        },
    )


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


def owned_frame(config: Config) -> pl.DataFrame:
    """Owned hardware by GPU type; ``nodes`` null where not declared."""
    return pl.DataFrame(
        [{"gpu_type": gpu_type, "capex_usd_per_node": owned.capex_usd_per_node,
          "amortization_years": owned.amortization_years, "nodes": owned.nodes}
         for gpu_type, owned in config.costs.owned.items()],
        schema={"gpu_type": pl.String, "capex_usd_per_node": pl.Float64, "amortization_years": pl.Float64,
                "nodes": pl.Float64},
    )


def power_cost(config: Config) -> PowerCost | None:
    power = config.costs.power
    if power is None:
        return None
    kw = pl.DataFrame({"role": list(power.kw_per_node), "kw_per_node": list(power.kw_per_node.values())},
                      schema={"role": pl.String, "kw_per_node": pl.Float64})
    return PowerCost(kw, pue=power.pue, usd_per_kwh=power.usd_per_kwh)


def lines_frame(config: Config) -> pl.DataFrame:
    return pl.DataFrame(
        [{"line": name, "usd_per_day": line.usd_per_day, "usd_per_node_hour": line.usd_per_node_hour}
         for name, line in config.costs.lines.items()],
        schema={"line": pl.String, "usd_per_day": pl.Float64, "usd_per_node_hour": pl.Float64},
    )


def claims_frame(config: Config) -> pl.DataFrame:
    """The claims file's claims (none when the config names no file)."""
    schema = {"claim": pl.String, "figure": pl.String, "stated": pl.Float64, "tolerance": pl.Float64,
              "source": pl.String, "day": pl.Date, "through": pl.Date, "unit": pl.String}
    path = config.claims_path
    rows = [] if path is None else [c.model_dump() for c in load_claims(path)]
    return pl.DataFrame(rows, schema=schema)


def plausibility_bounds(config: Config) -> pl.DataFrame:
    """The plausibility gate's bounds (``plausibility:``): one row per model,
    per GPU type, and the default (``model`` and ``gpu_type`` null)."""
    gate = config.plausibility
    rows = [(None, model, t) for model, t in gate.models.items()]
    rows += [(gpu_type, None, t) for gpu_type, t in gate.gpu_types.items()]
    rows.append((None, None, gate.default))
    return pl.DataFrame(
        [(g, m, t.input_tokens_per_gpu_second, t.output_tokens_per_gpu_second) for g, m, t in rows],
        schema=BOUNDS_SCHEMA, orient="row",
    )


def price_change_hours(config: Config, day: date, day_start: datetime, day_end: datetime) -> list[int]:
    """Hours of the day (from its first) at which a billed price changes: a
    list price, or a time-of-day rule's share of the hour."""
    prices = day_prices(compile_frames(config, day, day_start, day_end))
    return customers.price_change_hours(prices.billed, prices.hours)
