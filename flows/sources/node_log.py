"""openbooks' own node log: one row per interval, model, role and GPU type
with the nodes serving it (CSV, Parquet or JSON; columns mapped under
``sources.<name>.columns``). Kept as text in ``raw.node_log``, typed in
staging, checked by ``expectations/node_log.json``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from openbooks.flows.sources.base import DayRequest, SourceKind, SourceResult
from openbooks.flows.sources.raw_source import read_raw_days, read_raw_source


class NodeLogOptions(BaseModel):
    """``replicas: sum``: overlapping rows of one model, role and GPU type are
    replicas, their nodes (or GPUs) summed; ``reject`` (default): an overlap fails the day."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    replicas: Literal["reject", "sum"] = "reject"


def read(request: DayRequest) -> SourceResult:
    return _noted(request, read_raw_source(request, "node_log"))


def read_days(requests: list[DayRequest]) -> dict:
    return {day: _noted(requests[0], found) for day, found in read_raw_days(requests, "node_log").items()}


def _noted(request: DayRequest, found):
    """The result with whether its replicas are summed (an error as it is)."""
    if isinstance(found, SourceResult):
        found.extra["replicas_summed"] = request.options.replicas == "sum"
    return found


KIND = SourceKind(
    name="node_log", feeds="node_log", read=read, read_days=read_days, options=NodeLogOptions, suite="node_log",
    description="openbooks' node log: nodes per interval, model, role and GPU type",
)
