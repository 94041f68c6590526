"""What a report is rendered from: the day's tables by name, and the run's context.

The tables are the published ones (``daily_economics``, ``hourly_economics``,
``node_steps``, ...), either as a run computed them or as read back from the
warehouse, so a run and a rebuild render the same page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

DAILY = "daily_economics"
HOURLY = "hourly_economics"
STEPS = "node_steps"
WATERFALL = "revenue_waterfall"
SCENARIOS = "revenue_scenarios"
COST_BREAKDOWN = "cost_breakdown"
CLAIMS = "claims_audit"
CUSTOMERS = "customer_economics"


@dataclass(frozen=True)
class Context:
    """The run behind the report (not figures: provenance and validation)."""

    timezone: str
    run_id: str
    config_hash: str
    generated_at: datetime
    validation: list[str] = field(default_factory=list)
    data_docs: dict[str, str] = field(default_factory=dict)  # suite -> page, relative to the report directory
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> reason -> rows left out on purpose
    # The day's charts as the page's figures, built already from the same tables
    # (a backfill builds them in its workers while it computes the days); None: built here.
    charts: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Day:
    tables: Mapping[str, pl.DataFrame]
    context: Context

    def has(self, name: str) -> bool:
        return self.tables.get(name) is not None

    def table(self, name: str) -> pl.DataFrame:
        """The table ``name``, or an empty frame when the day has none."""
        frame = self.tables.get(name)
        return pl.DataFrame() if frame is None else frame

    @property
    def daily(self) -> dict:
        return self.tables[DAILY].row(0, named=True)

    @property
    def date(self) -> str:
        return self.daily["day"].isoformat()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.context.timezone)
