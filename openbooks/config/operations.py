"""How and when openbooks runs: the business day, warehouse, reports, suites, schedule, notifications."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, field_validator

from openbooks.config.common import Strict, zone_name as _zone

def _packaged_expectations() -> Path:
    """The suites installed with openbooks (the ``expectations`` package's data)."""
    import openbooks.expectations

    return Path(openbooks.expectations.__file__).resolve().parent


PACKAGED_EXPECTATIONS = _packaged_expectations()


class BusinessDay(Strict):
    """When a business day starts: ``--date D`` covers D start → D+1 start."""

    timezone: str = "UTC"
    start: time = time(0, 0)

    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))


class Warehouse(Strict):
    path: str = "../data/warehouse.duckdb"
    lock_timeout_seconds: NonNegativeFloat = 30.0
    memory_limit: str | None = None
    temp_directory: str | None = None


class Reports(Strict):
    dir: str = "../reports"
    # GX Data Docs pages: only for a suite that failed ("on_failure"), or for
    # every validation ("always"). No figure depends on it, so it is left out
    # of the config hash.
    data_docs: Literal["on_failure", "always"] = Field("on_failure", exclude=True)


class Compute(Strict):
    """Where a range's per-day compute and render pass runs (``openbooks
    backfill --runner``): ``local`` (processes of this machine, one per core
    from 8 days on), ``inline``, or a Dask scheduler (``dask://host:8786``).
    Reading and publishing stay in the process that runs the command. No
    figure depends on it, so it is left out of the config hash."""

    runner: str = "local"


class Validation(Strict):
    expectations_dir: str | None = None  # default: the suites shipped with openbooks


class Schedule(Strict):
    """When ``openbooks serve`` runs the day that just ended; a scheduled run
    retries transient errors (a file not yet arrived, a busy warehouse)."""

    cron: str = "30 12 * * *"
    timezone: str = "UTC"
    retries: NonNegativeInt = 3
    retry_delay_seconds: NonNegativeFloat = 600.0

    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))


class Notifications(Strict):
    """Where a failed run is reported besides its log: a webhook gets a JSON POST."""

    webhook_url: str | None = None
    timeout_seconds: PositiveFloat = 10.0




class Anomalies(Strict):
    """After each published day, its key figures against their trailing median
    over ``window_days``: shares (margins, cache hit rate, idle share) move by
    points (0.05 = 5 points), other figures (cost per million tokens, tokens
    per node-second) by their share of the median (0.25 = 25%). A move past
    its threshold is an anomaly: recorded, reported, never a failure."""

    window_days: PositiveInt = 28
    min_days: PositiveInt = 3
    threshold_points: PositiveFloat = 0.05
    threshold_relative: PositiveFloat = 0.25
