"""What the stages hand to the store: a business day's bounds
(``DayWindow``) and its computed books (``Books``), every frame a run
validates and publishes (``flows/store/publish.py`` maps them onto tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from openbooks.transforms import calendar
from openbooks.transforms.inputs import DayInputs


@dataclass(frozen=True)
class DayWindow:
    day: date
    start: datetime
    end: datetime

    @property
    def hours(self) -> int:
        """The rows of its hour grid (``transforms.calendar.hour_count``)."""
        return calendar.hour_count(self.start, self.end)


@dataclass
class Books:
    """A computed day: every frame a run validates and publishes."""

    window: DayWindow
    node_log: pl.DataFrame  # staged, flagged
    token_counts: pl.DataFrame  # staged, flagged
    hourly: pl.DataFrame
    daily: pl.DataFrame
    steps: pl.DataFrame
    waterfall: pl.DataFrame = field(default_factory=pl.DataFrame)
    scenarios: pl.DataFrame = field(default_factory=pl.DataFrame)
    cost_breakdown: pl.DataFrame = field(default_factory=pl.DataFrame)
    claims_audit: pl.DataFrame = field(default_factory=pl.DataFrame)
    customers: pl.DataFrame | None = None  # customer_economics, from request-level logs
    models: pl.DataFrame | None = None  # model_economics
    inputs: DayInputs | None = None  # the config compiled to frames, as the day was computed from
    billed_prices: pl.DataFrame | None = None  # the billing card's prices per hour, rules applied
    gpu_cost_check: pl.DataFrame | None = None  # declared-rate against invoiced GPU cost, with an invoice
    plausibility: pl.DataFrame | None = None  # tokens per serving GPU-second by hour and model (the gate's frame)
    api_spend: pl.DataFrame | None = None  # hosted-API spend beside the GPU cost, with a source giving it
    scenario_economics: pl.DataFrame | None = None  # the config's what-if scenarios on the day (whatif.scenarios)
    capacity: pl.DataFrame | None = None  # capacity_by_role: node-hours and GPU-hours per GPU type and role
