"""openbooks' own node log: one row per interval, model, role and GPU type
with the nodes serving it (CSV, Parquet or JSON; columns mapped under
``sources.<name>.columns``). Kept as text in ``raw.node_log``, typed in
staging, checked by ``expectations/node_log.json``."""

from __future__ import annotations

from flows.sources.base import DayRequest, SourceKind, SourceResult
from flows.sources.raw_source import read_raw_source


def read(request: DayRequest) -> SourceResult:
    return read_raw_source(request, "node_log")


KIND = SourceKind(
    name="node_log", feeds="node_log", read=read, suite="node_log",
    description="openbooks' node log: nodes per interval, model, role and GPU type",
)
