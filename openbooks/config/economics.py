"""The economics a day is computed with: hardware, prices, costs, the cache and claims."""

from __future__ import annotations

from datetime import date, time
from typing import Any, Literal

from pydantic import (
    Field, NonNegativeFloat, PositiveFloat, PositiveInt, field_validator, model_serializer, model_validator,
)

from openbooks.config.common import Strict, zone_name as _zone


class Gpu(Strict):
    gpus_per_node: PositiveInt
    rental_usd_per_gpu_hour: NonNegativeFloat
    fleet_nodes: PositiveFloat | None = None  # nodes of this type the fleet owns: unallocated stretches are idle

    @model_serializer(mode="wrap")
    def _without_undeclared_fleet(self, handler):
        """Left out of the canonical config when not declared, so a config's hash stays what it was."""
        data = handler(self)
        if self.fleet_nodes is None:
            data.pop("fleet_nodes", None)
        return data


class ModelPrice(Strict):
    """List price per million tokens, in force from ``effective_from``."""

    effective_from: date = date(1970, 1, 1)
    effective_to: date | None = None
    input_cache_hit: NonNegativeFloat
    input_cache_miss: NonNegativeFloat
    output: NonNegativeFloat


ANY_MODEL = "*"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _per_model(value: Any) -> Any:
    """A bare number stands for every model: ``2.0`` is ``{"*": 2.0}``."""
    return {ANY_MODEL: value} if isinstance(value, (int, float)) else value


class TimeOfDayRule(Strict):
    """A daily window in which prices change: a ``discount`` (fraction off
    list, per model) or a ``multiplier`` (of list, per model). The window is
    read in ``timezone`` (default: the price book's); ``end`` at or before
    ``start`` crosses midnight. ``days`` are the days a window starts on;
    effective dates are read the same way."""

    name: str
    start: time
    end: time
    timezone: str | None = None
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = list(WEEKDAYS)
    discount: dict[str, float] | None = None
    multiplier: dict[str, PositiveFloat] | None = None
    effective_from: date = date(1970, 1, 1)
    effective_to: date | None = None

    _check_zone = field_validator("timezone")(lambda cls, v: v if v is None else _zone(v))
    _bare_numbers = field_validator("discount", "multiplier", mode="before")(lambda cls, v: _per_model(v))

    @model_validator(mode="after")
    def _one_kind(self) -> TimeOfDayRule:
        if (self.discount is None) == (self.multiplier is None):
            raise ValueError("give exactly one of discount (fraction off list) or multiplier (of list)")
        bad = {m: d for m, d in (self.discount or {}).items() if not 0 <= d <= 1}
        if bad:
            raise ValueError(f"discount is a fraction off list between 0 and 1, got {bad}")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self

    def factors(self) -> dict[str, float]:
        """Price factor in the window, per model: 1 - discount, or the multiplier."""
        if self.discount is not None:
            return {model: 1.0 - off for model, off in self.discount.items()}
        return dict(self.multiplier or {})


class PriceCard(Strict):
    """A named set of list prices, e.g. DeepSeek's own or a competitor's.
    The model ``"*"`` prices every model the card does not name; ``rules``
    change prices by time of day."""

    models: dict[str, list[ModelPrice]]
    rules: list[TimeOfDayRule] = []

    def prices(self, model: str) -> list[ModelPrice]:
        """The model's own price periods, else the card's ``"*"`` ones."""
        return self.models.get(model) or self.models.get(ANY_MODEL, [])

    @field_validator("models", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value


class PriceBook(Strict):
    timezone: str = "UTC"
    card: str
    reference_model: str
    billable_channels: list[Literal["web", "app", "api"]] = ["api"]
    cards: dict[str, PriceCard]
    scenarios: list[str] | None = None  # cards compared in revenue_scenarios (default: every card)

    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))

    @model_validator(mode="after")
    def _references_exist(self) -> PriceBook:
        if self.card not in self.cards:
            raise ValueError(f"card {self.card!r} is not among cards {list(self.cards)}")
        if not self.cards[self.card].prices(self.reference_model):
            raise ValueError(
                f"reference_model {self.reference_model!r} has no price in card {self.card!r}"
            )
        unknown = [c for c in self.scenarios or [] if c not in self.cards]
        if unknown:
            raise ValueError(f"scenarios {unknown} are not among cards {list(self.cards)}")
        return self

    @property
    def scenario_cards(self) -> list[str]:
        return list(self.cards) if self.scenarios is None else list(self.scenarios)


class OwnedHardware(Strict):
    """Owned nodes, amortized straight-line: capex / (years x 365) per node-day."""

    capex_usd_per_node: NonNegativeFloat
    amortization_years: PositiveFloat
    nodes: PositiveFloat | None = None  # default: the day's peak serving nodes


class Power(Strict):
    """Electricity: node-hours by role x kW per node x PUE x price per kWh."""

    usd_per_kwh: NonNegativeFloat
    pue: float = Field(default=1.0, ge=1.0)
    kw_per_node: dict[Literal["prefill", "decode", "idle", "serving"], NonNegativeFloat]


class CostLine(Strict):
    """A further cost: a fixed amount per day and/or an amount per serving node-hour."""

    usd_per_day: NonNegativeFloat = 0.0
    usd_per_node_hour: NonNegativeFloat = 0.0


BUILT_IN_COST_LINES = ("GPU rental", "hardware amortization", "training transfer", "power")


class Costs(Strict):
    """The fully loaded cost of serving, beside the GPU rental."""

    compute: Literal["rental", "owned"] = "rental"
    owned: dict[str, OwnedHardware] = Field(default_factory=dict)  # by GPU type
    power: Power | None = None
    lines: dict[str, CostLine] = Field(default_factory=dict)  # e.g. network, colocation, staff

    @model_validator(mode="after")
    def _owned_declared(self) -> Costs:
        if self.compute == "owned" and not self.owned:
            raise ValueError("compute is 'owned' but no owned hardware is declared under costs.owned")
        reserved = sorted(set(self.lines) & set(BUILT_IN_COST_LINES))
        if reserved:
            raise ValueError(f"lines {reserved} clash with the built-in lines {list(BUILT_IN_COST_LINES)}")
        return self


class Cache(Strict):
    """What a cache hit saves: a prefill node computes this many cache-miss
    input tokens per second."""

    prefill_tokens_per_node_second: PositiveFloat = 73_700.0
    gpu_type: str | None = None  # default: the only GPU type under hardware


class Claims(Strict):
    path: str | None = None  # a claims file (see configs/claims.yaml); none: no audit


