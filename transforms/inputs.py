"""What a day's books are computed from besides its logs: the config compiled
to frames and plain values (``openbooks/config/frames.py`` builds it; nothing here reads
a file or a config object).

Frames:
- hardware: ``gpu_type``, ``gpus_per_node``, ``rental_usd_per_gpu_hour``
- prices: ``card``, ``model`` (or ``"*"``), ``effective_from``,
  ``effective_to`` (UTC, null when open-ended), ``input_cache_hit``,
  ``input_cache_miss``, ``output`` (USD per million tokens)
- rules: ``card``, ``rule``, ``start``, ``end`` (local times), ``timezone``,
  ``days``, ``effective_from``, ``effective_to`` (see ``billing.py``)
- factors: ``card``, ``rule``, ``model`` (or ``"*"``), ``factor``
- owned: ``gpu_type``, ``capex_usd_per_node``, ``amortization_years``,
  ``nodes`` (null: the day's peak serving nodes of that type)
- lines: ``line``, ``usd_per_day``, ``usd_per_node_hour``
- claims: ``claim``, ``figure``, ``stated``, ``tolerance``, ``source``
- power.kw_per_node: ``role``, ``kw_per_node``
- fleet: ``gpu_type``, ``fleet_nodes`` (GPU types whose fleet size is declared)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import polars as pl


@dataclass(frozen=True)
class PowerCost:
    kw_per_node: pl.DataFrame
    pue: float
    usd_per_kwh: float


@dataclass(frozen=True)
class DayInputs:
    day: date
    day_start: datetime  # UTC
    day_end: datetime  # UTC, exclusive
    hardware: pl.DataFrame
    prices: pl.DataFrame
    rules: pl.DataFrame
    factors: pl.DataFrame
    card: str  # the card each model is billed from
    reference_model: str  # theoretical revenue: every token at this model's price
    billable_channels: tuple[str, ...]
    scenario_cards: tuple[str, ...]
    compute: Literal["rental", "owned"]
    owned: pl.DataFrame
    power: PowerCost | None
    lines: pl.DataFrame
    cache_tokens_per_node_second: float  # cache-miss tokens a prefill node computes per second
    cache_gpu_type: str  # the GPU type cache savings are priced at
    claims: pl.DataFrame
    fleet: pl.DataFrame | None = None  # declared fleet sizes: nodes the log does not allocate are idle
