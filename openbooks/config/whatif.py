"""What if and what next: hardware profiles, named scenarios, the long view, and budgets."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator

from openbooks.config.common import Strict

Fraction = Field(ge=0.0, lt=1.0)


class Profile(Strict):
    """A GPU type as it serves a named workload: throughput per GPU-second
    (input in prefill, output in decode) and rental per GPU-hour, with where
    each figure comes from. The catalogue's (``openbooks/hardware_catalogue.yaml``)
    are overridden by the config's of the same name."""

    gpu_type: str
    gpus_per_node: PositiveInt
    input_tokens_per_gpu_second: PositiveFloat | None = None
    output_tokens_per_gpu_second: PositiveFloat | None = None
    rental_usd_per_gpu_hour: NonNegativeFloat | None = None
    rental_as_of: date | None = None
    workload: str | None = None
    published: str | None = None  # the source's own figures, as published
    source: str | None = None

    @model_validator(mode="after")
    def _both_throughputs(self) -> Profile:
        if (self.input_tokens_per_gpu_second is None) != (self.output_tokens_per_gpu_second is None):
            raise ValueError("give both input_tokens_per_gpu_second and output_tokens_per_gpu_second, or neither")
        return self


class ScenarioSpec(Strict):
    """A named what-if: a few overrides of the measured day. ``profile``
    names a hardware profile; the keys beside it override its figures.
    Throughput is absolute (both ``*_tokens_per_gpu_second``) or relative to
    what the fleet measured (``throughput_factor``)."""

    profile: str | None = None
    gpu_type: str | None = None
    gpus_per_node: PositiveInt | None = None
    rental_usd_per_gpu_hour: NonNegativeFloat | None = None
    input_tokens_per_gpu_second: PositiveFloat | None = None
    output_tokens_per_gpu_second: PositiveFloat | None = None
    throughput_factor: PositiveFloat = 1.0
    price_factor: NonNegativeFloat = 1.0  # on list prices: 0.4 is 60% off; time-of-day rules kept
    card: str | None = None  # another price card of price_book.cards
    cache_hit_rate: float | None = Field(default=None, ge=0.0, lt=1.0)
    lend_idle_to_training: bool = True


class Horizon(Strict):
    """The long view (``openbooks whatif --horizon 4q``): list prices and
    rental prices falling by these fractions a year, compounded by quarter."""

    list_price_decline: float = Field(default=0.5, ge=0.0, lt=1.0)
    rental_decline: float = Field(default=0.2, ge=0.0, lt=1.0)


class WhatIf(Strict):
    profiles: dict[str, Profile] = Field(default_factory=dict)
    scenarios: dict[str, ScenarioSpec] = Field(default_factory=dict)  # computed by every run (scenario_economics)
    horizon: Horizon = Horizon()


class Budget(Strict):
    """A month's limit: a GPU cost ceiling and/or a floor on gross margin,
    for one model or in total (``all``). Broken by the month so far or by
    its forecast, it is an anomaly."""

    name: str
    model: str = "all"
    gpu_cost_usd_per_month: NonNegativeFloat | None = None
    gross_margin_floor: float | None = Field(default=None, gt=-10.0, lt=1.0)
    margin: Literal["gross_margin", "billed_gross_margin"] = "gross_margin"  # the margin the floor is on

    @model_validator(mode="after")
    def _a_limit(self) -> Budget:
        if self.gpu_cost_usd_per_month is None and self.gross_margin_floor is None:
            raise ValueError("give gpu_cost_usd_per_month, gross_margin_floor, or both")
        return self
