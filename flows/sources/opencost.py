"""Kubernetes GPU allocations from OpenCost as the node log.

Reads either the ``/allocation/compute`` API response saved as JSON
(``{"code": 200, "data": [{<name>: <allocation>, …}, …]}``, one mapping per
``step``), or the files of opencost-parquet-exporter (the same allocations
flattened with ``.``: ``window.start``, ``running_start_time``, ``gpuCount``,
``properties.node``, ``label.<name>`` …). Each allocation holds ``gpuCount``
GPUs from ``start`` to ``end`` within its step's ``window``; ``gpuHours`` must
agree. Model and role come from ``options.rules`` on the flattened fields
(e.g. ``properties.labels.llm_d_ai_role``), the GPU type from the node's
instance type (``options.instance_types``) or the node's name
(``options.node_types``). Pods without GPUs or matched by no rule (no model
label) are left out and counted.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from openbooks.flows.sources import allocations as alloc
from openbooks.flows.sources.base import DayRequest, Problem, SourceKind, SourceResult
from openbooks.flows.sources.files import display_path

UTC = alloc.zone("UTC")
# opencost-parquet-exporter's renamed columns, back to the API's flattened names.
PARQUET_NAMES = {"running_start_time": "start", "running_end_time": "end", "running_minutes": "minutes"}
PARQUET_PREFIXES = {"label.": "properties.labels.", "namespaceLabels.": "properties.namespaceLabels."}
API_DECIMALS = 5  # gpuHours as the allocation API prints it
TIME_EXPECTED = "an RFC 3339 time such as 2025-02-27T04:00:00Z"


class OpenCostOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[alloc.Rule] = []  # flattened allocation fields → model and role
    instance_type_field: str = "properties.labels.node_kubernetes_io_instance_type"
    instance_types: dict[str, str] = {}  # instance type → GPU type under hardware
    node_types: dict[str, str] = {}  # properties.node regex → GPU type


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested allocation as ``{"properties.labels.app": …}``, like the exporter's json_normalize."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        flat.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _key_lines(text: str) -> dict[str, list[int]]:
    """The lines on which each object key opens (``"name": {``), in order."""
    lines: dict[str, list[int]] = {}
    for found in re.finditer(r'"((?:[^"\\]|\\.)*)"\s*:\s*\{', text):
        lines.setdefault(found[1], []).append(text.count("\n", 0, found.start()) + 1)
    return lines


def json_records(text: str, path: str, source: str) -> tuple[list[tuple[int, dict]], list[Problem]]:
    """(line, flattened allocation) for every allocation of every step."""
    try:
        response = json.loads(text, parse_float=Decimal)  # decimals as printed: gpuHours' precision
    except json.JSONDecodeError as exc:
        return [], [Problem(source=source, expected=f"an OpenCost /allocation/compute JSON response ({exc.msg})",
                            file=path, line=exc.lineno)]
    steps = response.get("data") if isinstance(response, dict) else None
    if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
        return [], [Problem(source=source, expected="a response whose data is a list of steps, each mapping "
                            "allocation names to allocations", file=path, line=1, column="data")]
    key_lines, seen, records = _key_lines(text), {}, []
    for step in steps:
        for name, allocation in step.items():
            index = seen[name] = seen.get(name, -1) + 1
            lines = key_lines.get(name, [])
            line = lines[index] if index < len(lines) else 1
            records.append((line, {"name": name, **flatten(allocation)}))
    return records, []


def parquet_records(frame: pl.DataFrame) -> list[tuple[int, dict]]:
    """(row number, allocation) of an opencost-parquet-exporter file, with the API's names."""
    def api_name(column: str) -> str:
        for prefix, api in PARQUET_PREFIXES.items():
            if column.startswith(prefix):
                return api + column[len(prefix):]
        return PARQUET_NAMES.get(column, column)

    renamed = frame.rename({column: api_name(column) for column in frame.columns})
    return list(enumerate(renamed.to_dicts(), start=1))


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return alloc.parse_time(str(value), UTC) if value not in (None, "") else None


def printed_tolerance(value: Any) -> float:
    """How far a printed ``gpuHours`` may be from gpuCount × running hours:
    OpenCost rounds it to 5 decimals (``0.16667`` is 1/6, ``48`` may be
    47.999996), so half a unit in the 5th decimal, or in the last one printed
    when more are (a Parquet float keeps its shortest decimals)."""
    text = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return 0.5 * 10.0 ** -max(API_DECIMALS, -int(text.as_tuple().exponent))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class _File:
    def __init__(self, source: str, path: str, options: OpenCostOptions, hardware: dict):
        self.source, self.path, self.options, self.hardware = source, path, options, hardware
        self.parsed = alloc.Parsed()

    def problem(self, line: int, column: str, expected: str, value: Any, record: dict) -> None:
        shown = None if value is None else str(value)
        self.parsed.problems.append(Problem(
            source=self.source, expected=expected, file=self.path, line=line, column=column, value=shown,
            record=json.dumps(record, default=str)[:2000], text=allocation_message(self.path, line, column, expected,
                                                                                   shown, record),
        ))


def allocation_message(path: str, line: int, column: str, expected: str, value: str | None, record: dict) -> str:
    """One line naming the allocation (its name, pod and step window) as
    well as the file and line: a saved response is often one line of JSON."""
    name, pod = record.get("name"), record.get("properties.pod")
    window = f"{record.get('window.start')} to {record.get('window.end')}"
    where = f"{display_path(path)} line {line} allocation {name!r} (pod {pod}, window {window}) field {column}"
    return f"{where}: expected {expected}" + ("" if value is None else f", got {value!r}")


def _interval(file: _File, line: int, record: dict) -> tuple[datetime, datetime] | None:
    """The allocation's running time within its step's window."""
    times = {}
    for field in ("window.start", "window.end", "start", "end"):
        times[field] = _time(record.get(field))
        if times[field] is None:
            return file.problem(line, field, TIME_EXPECTED, record.get(field), record)
    start, end = max(times["start"], times["window.start"]), min(times["end"], times["window.end"])
    if end < start:
        return file.problem(line, "end", "an end at or after start, within the window", record.get("end"), record)
    return start, end


def _gpu_type(file: _File, record: dict) -> str | None:
    instance = record.get(file.options.instance_type_field)
    if instance is not None and str(instance) in file.options.instance_types:
        return file.options.instance_types[str(instance)]
    for pattern, gpu_type in file.options.node_types.items():
        if re.fullmatch(pattern, str(record.get("properties.node") or "")):
            return gpu_type
    return None


def _allocation(file: _File, line: int, record: dict) -> None:
    gpus = _number(record.get("gpuCount", 0) or 0)
    if gpus is None or gpus < 0:
        return file.problem(line, "gpuCount", "a GPU count >= 0", record.get("gpuCount"), record)
    if gpus == 0:
        return file.parsed.skip("pod without GPUs")
    mapped = alloc.match_rules(file.options.rules, record)
    interval = _interval(file, line, record) if mapped is not None else _quiet_interval(file, line, record)
    if mapped is None:
        start, end = interval or (None, None)
        return file.parsed.drop("GPU pod without a model (matching no rule)", start, end, gpus,
                                _gpu_type(file, record), file.path, line)
    if interval is None:
        return None
    hours = (interval[1] - interval[0]).total_seconds() / 3600
    declared = _number(record.get("gpuHours"))
    if declared is None or abs(declared - gpus * hours) > printed_tolerance(record["gpuHours"]) + 1e-9 * gpus * hours:
        return file.problem(line, "gpuHours", f"gpuCount × running hours = {gpus * hours:.10g} (within the "
                            "precision it is printed with)", record.get("gpuHours"), record)
    gpu_type = _gpu_type(file, record)
    if gpu_type not in file.hardware:
        field = file.options.instance_type_field
        value = record.get(field) if record.get(field) is not None else record.get("properties.node")
        return file.problem(line, field if record.get(field) is not None else "properties.node",
                            "a node whose instance type (options.instance_types) or name (options.node_types) "
                            "maps to a GPU type declared under hardware", value, record)
    file.parsed.rows.append({"start": interval[0], "end": interval[1], "model": mapped[0], "role": mapped[1],
                             "gpu_type": gpu_type, "gpus": gpus, "source_file": file.path, "line": line})
    return None


def _quiet_interval(file: _File, line: int, record: dict):
    """``_interval`` of an allocation left out: None, and no problem, when its window does not read."""
    kept = len(file.parsed.problems)
    interval = _interval(file, line, record)
    del file.parsed.problems[kept:]
    return interval


def parse_allocations(
    records: list[tuple[int, dict]], path: str, options: OpenCostOptions, *, source: str, hardware: dict,
    seen: set[tuple] | None = None,
) -> alloc.Parsed:
    """The GPU allocations among OpenCost allocation records (pure). An
    allocation (name and window) in ``seen``, read from another file already,
    is skipped; the file's are added."""
    file, seen = _File(source, path, options, hardware), set() if seen is None else seen
    for line, record in records:
        key = (record.get("name"), str(record.get("window.start")), str(record.get("window.end")))
        if key in seen:
            file.parsed.skip("allocation repeated in another file (counted once)")
            continue
        seen.add(key)
        _allocation(file, line, record)
    return file.parsed


def day_result(request: DayRequest, files: list[Path], contents: list[str | pl.DataFrame]) -> SourceResult:
    """The day's node log from the files' contents: JSON text or a Parquet frame."""
    result = SourceResult(frame=None, files=list(files))
    frames, seen = [], set()
    for path, content in zip(files, contents):
        if isinstance(content, pl.DataFrame):
            records, problems = parquet_records(content), []
        else:
            records, problems = json_records(content, str(path), request.name)
        parsed = parse_allocations(records, str(path), request.options, source=request.name,
                                   hardware=request.config.hardware, seen=seen)
        result.extra.setdefault("records", {})[str(path)] = len(records)
        result.problems += problems
        frames.append(alloc.merge(result, parsed))
    return alloc.finish(result, frames, request, outside="allocation outside the day")


def read(request: DayRequest) -> SourceResult:
    return alloc.read_day(request, day_result)


KIND = SourceKind(
    name="opencost", feeds="node_log", read=read, options=OpenCostOptions, suite="node_log",
    description="Kubernetes GPU allocations from OpenCost (/allocation/compute JSON or parquet-exporter files)",
)
