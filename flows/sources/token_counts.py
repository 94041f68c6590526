"""openbooks' own token counts: one row per hour, model and channel with its
cache-hit, cache-miss and output tokens and requests (CSV, Parquet or JSON;
columns mapped under ``sources.<name>.columns``). Kept as text in
``raw.token_counts``, typed in staging, checked by
``expectations/token_counts.json`` (together with any request logs' hourly totals)."""

from __future__ import annotations

from openbooks.flows.sources.base import DayRequest, SourceKind, SourceResult
from openbooks.flows.sources.raw_source import read_raw_days, read_raw_source


def read(request: DayRequest) -> SourceResult:
    return read_raw_source(request, "token_counts")


def read_days(requests: list[DayRequest]) -> dict:
    return read_raw_days(requests, "token_counts")


KIND = SourceKind(
    name="token_counts", feeds="token_counts", read=read, read_days=read_days, suite="token_counts",
    description="openbooks' hourly token counts per model and channel",
)
