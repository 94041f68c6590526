"""Cloud bills in FOCUS (FinOps Open Cost and Usage Specification 1.0-1.2) as
the node log, and the invoiced GPU cost beside it.

A FOCUS export (CSV or Parquet) has one row per charge: ``ChargePeriodStart``
to ``ChargePeriodEnd`` (exclusive), ``ChargeCategory`` (``Usage``,
``Purchase``, ``Tax``, ``Credit``, ``Adjustment``), ``ResourceId``,
``ConsumedQuantity`` in ``ConsumedUnit``, ``BilledCost`` (the invoice),
``EffectiveCost`` (amortized, after commitment discounts), ``ListCost``,
``SkuPriceDetails`` and ``Tags`` (JSON objects). Empty cells and ``NULL`` are
null. A row is a GPU instance when its instance type (``options.instance_type_field``,
by default ``SkuPriceDetails.InstanceType`` of FOCUS 1.1+; in FOCUS 1.0 e.g.
``SkuId``, or ``ChargeDescription`` with a regex ``options.instance_type_pattern``)
maps to a GPU type in ``options.instance_types``; other charges of the same ``ResourceId`` (credits,
corrections) belong to it too. Usage rows give instance-hours: one instance is
one node, ``ConsumedQuantity / period hours`` nodes over the charge period,
model and role from ``options.rules`` on ``Tags.<key>`` (or any column). Every
GPU instance charge also goes to ``extra["invoiced_cost"]``: the day's part
of its billed, effective and list cost and hours, per GPU type and resource.

A bill lists the instances that ran: an hour without one is zero nodes, and
no idle instance is ever added for it, so a GPU type it bills may not also
declare an owned fleet (``hardware.<gpu_type>.fleet_nodes``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, field_validator

from openbooks.config.frames import hardware_frame
from openbooks.flows.sources import allocations as alloc
from openbooks.flows.sources.base import DayRequest, Problem, SourceKind, SourceResult
from openbooks.flows.sources.files import display_path
from openbooks.flows.sources.limits import MAX_GPUS_PER_ROW
from openbooks.errors import InputError
from openbooks.config.common import zone_name
from openbooks.transforms import cost

NULLS = {"", "NULL", "null"}
JSON_COLUMNS = ("SkuPriceDetails", "Tags")
REQUIRED = ("ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ResourceId", "BilledCost", "EffectiveCost",
            "ListCost", "ConsumedQuantity", "ConsumedUnit")
COSTS = {"BilledCost": "billed_cost", "EffectiveCost": "effective_cost", "ListCost": "list_cost"}
INVOICE_SCHEMA = {
    "charge_period_start": alloc.UTC_US, "charge_period_end": alloc.UTC_US, "gpu_type": pl.Utf8,
    "resource_id": pl.Utf8, "charge_category": pl.Utf8, "billed_cost": pl.Float64, "effective_cost": pl.Float64,
    "list_cost": pl.Float64, "hours": pl.Float64, "gpu_hours": pl.Float64, "source_file": pl.Utf8, "line": pl.Int64,
}


class FocusOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_type_field: str = "SkuPriceDetails.InstanceType"  # a column (SkuId, ...), or <JSON column>.<key>
    instance_type_pattern: str | None = None  # regex on that field; its group instance_type (or 1) is the type
    instance_types: dict[str, str] = {}  # instance type → GPU type under hardware
    rules: list[alloc.Rule] = []  # e.g. {match: {Tags.model: ...}}: model and role of usage rows
    timezone: str = "UTC"  # for charge periods without an offset
    currency: str = "USD"
    hour_units: list[str] = ["Hour", "Hours", "Hrs"]  # ConsumedUnit values that are instance-hours

    _zone = field_validator("timezone")(lambda cls, v: zone_name(v))

    @field_validator("instance_type_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expected a regular expression, got {value!r} ({exc})")
        return value

    def instance_type(self, record: dict[str, Any]) -> str | None:
        """The row's instance type: its ``instance_type_field``, or what
        ``instance_type_pattern`` finds in it (``(?P<instance_type>...)``, else
        the first group, else the match); None when absent or not found."""
        value = record.get(self.instance_type_field)
        if value is None or self.instance_type_pattern is None:
            return None if value is None else str(value)
        found = re.search(self.instance_type_pattern, str(value))
        if found is None:
            return None
        named = found.groupdict().get("instance_type")
        return named if named is not None else found.group(1) if found.re.groups else found.group(0)


def _null(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and value.strip() in NULLS) else value


def record_fields(row: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A row with NULLs as None and its JSON columns' keys added as
    ``Tags.<key>``; the name of a JSON column that does not parse, if any."""
    record = {name: _null(value) for name, value in row.items()}
    for column in JSON_COLUMNS:
        value = record.get(column)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return record, column
        if isinstance(value, dict):
            record.update({f"{column}.{key}": inner for key, inner in value.items()})
        elif value is not None:
            return record, column
    return record, None


def csv_rows(text: str, where: str = "") -> list[tuple[int, dict[str, str]]]:
    """(first line, row) of a CSV text, header on line 1 (quoted cells may
    span lines); a row with more cells than the header, or a cell past the
    CSV reader's field limit, is refused naming ``where`` and the line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows, line = [], 1
    try:
        header = next(reader, [])
        line = reader.line_num + 1
        for cells in reader:
            if len(cells) > len(header):
                raise InputError(f"{where} line {line}: {len(cells)} cells (expected at most {len(header)}, "
                                 "one per header column)")
            if cells:
                rows.append((line, dict(zip(header, cells + [""] * (len(header) - len(cells))))))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{where} line {line}: {exc} (expected CSV cells of at most {csv.field_size_limit():,} "
                         "characters)") from None
    return rows


class _File:
    def __init__(self, source: str, path: str, options: FocusOptions, hardware: dict):
        self.source, self.path, self.options, self.hardware = source, path, options, hardware
        self.parsed, self.invoices = alloc.Parsed(), []

    def problem(self, line: int, column: str | None, expected: str, value: Any, row: dict) -> None:
        self.parsed.problems.append(Problem(
            source=self.source, expected=expected, file=self.path, line=line, column=column,
            value=None if value is None else str(value), record=json.dumps(row, default=str)[:2000],
        ))


def _number(file: _File, line: int, record: dict, column: str, row: dict) -> float | None:
    try:
        number = float(record.get(column))
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        return file.problem(line, column, "a decimal number", row.get(column), row)
    return number


def _period(file: _File, line: int, record: dict, row: dict) -> tuple[datetime, datetime] | None:
    zone = alloc.zone(file.options.timezone)
    times = []
    for column in ("ChargePeriodStart", "ChargePeriodEnd"):
        value = record.get(column)
        moment = value if isinstance(value, datetime) else alloc.parse_time(str(value or ""), zone)
        if moment is None:
            return file.problem(line, column, "a time such as 2025-02-27T00:00:00Z", value, row)
        times.append(moment if moment.tzinfo else moment.replace(tzinfo=zone))
    if times[1] <= times[0]:
        return file.problem(line, "ChargePeriodEnd", "a ChargePeriodEnd after ChargePeriodStart",
                            record.get("ChargePeriodEnd"), row)
    return times[0], times[1]


def _charge(file: _File, line: int, record: dict, row: dict, gpu_type: str, day: tuple) -> None:
    """One GPU instance charge: its invoice row and, for usage, its allocation."""
    usage = record.get("ChargeCategory") == "Usage"
    period = _period(file, line, record, row)
    numbers = (*COSTS, "ConsumedQuantity") if usage else tuple(COSTS)
    values = {column: _number(file, line, record, column, row) for column in numbers}
    if period is None or None in values.values():
        return None
    if record.get("BillingCurrency") not in (None, file.options.currency):
        return file.problem(line, "BillingCurrency", f"charges in {file.options.currency}",
                            record.get("BillingCurrency"), row)
    units = {unit.lower() for unit in file.options.hour_units}
    if usage and str(record.get("ConsumedUnit") or "").lower() not in units:
        return file.problem(line, "ConsumedUnit", f"instance-hours ({', '.join(file.options.hour_units)})",
                            record.get("ConsumedUnit"), row)
    start, end = max(period[0], day[0]), min(period[1], day[1])
    if end <= start:
        return file.parsed.skip("charge outside the day")
    share = (end - start) / (period[1] - period[0])
    hours = values["ConsumedQuantity"] if usage else 0.0
    period_hours = (period[1] - period[0]).total_seconds() / 3600
    if hours * file.hardware[gpu_type].gpus_per_node > MAX_GPUS_PER_ROW * period_hours:  # 2^70, 1e300
        return file.problem(line, "ConsumedQuantity", f"instance-hours of at most {MAX_GPUS_PER_ROW:,} GPUs over "
                            "the charge period", record.get("ConsumedQuantity"), row)
    file.invoices.append({
        "charge_period_start": start, "charge_period_end": end, "gpu_type": gpu_type,
        "resource_id": record.get("ResourceId"), "charge_category": record.get("ChargeCategory"),
        **{name: values[column] * share for column, name in COSTS.items()},
        "hours": hours * share, "gpu_hours": hours * share * file.hardware[gpu_type].gpus_per_node,
        "source_file": file.path, "line": line,
    })
    return _usage(file, line, record, period, gpu_type, hours) if usage else None


def _usage(file: _File, line: int, record: dict, period: tuple, gpu_type: str, hours: float) -> None:
    mapped = alloc.match_rules(file.options.rules, record)
    nodes = hours / ((period[1] - period[0]).total_seconds() / 3600)
    gpus = nodes * file.hardware[gpu_type].gpus_per_node
    if mapped is None:
        return file.parsed.drop("GPU instance usage without a model (matching no rule)", period[0], period[1],
                                gpus, gpu_type, file.path, line)
    file.parsed.rows.append({"start": period[0], "end": period[1], "model": mapped[0], "role": mapped[1],
                             "gpu_type": gpu_type, "gpus": gpus, "source_file": file.path, "line": line})
    return None


def _resource_types(file: _File, records: list[tuple[int, dict, dict]]) -> dict[str, str]:
    """ResourceId → GPU type, from the rows naming a mapped instance type."""
    types = {}
    for _, record, _ in records:
        instance = file.options.instance_type(record)
        if instance is not None and instance in file.options.instance_types and record.get("ResourceId"):
            types[str(record["ResourceId"])] = file.options.instance_types[instance]
    return types


def instance_field_column(field: str, header: dict[str, Any]) -> str | None:
    """The column ``options.instance_type_field`` reads (``Tags`` of
    ``Tags.instance``) when the file lacks it, else None."""
    if not header or field in header:
        return None
    column = field.split(".", 1)[0]
    return None if column in header and column in JSON_COLUMNS else column


def parse_focus(
    rows: list[tuple[int, dict]], path: str, options: FocusOptions, *, source: str, hardware: dict, day: tuple,
) -> tuple[alloc.Parsed, pl.DataFrame]:
    """GPU instance usage (allocations) and invoiced cost in FOCUS rows (pure)."""
    file = _File(source, path, options, hardware)
    missing = [column for column in REQUIRED if rows and column not in rows[0][1]]
    if missing:
        file.problem(1, missing[0], f"the FOCUS columns {', '.join(missing)}", None, {})
        return file.parsed, pl.DataFrame(schema=INVOICE_SCHEMA)
    field_column = instance_field_column(options.instance_type_field, rows[0][1] if rows else {})
    if field_column is not None:
        file.problem(1, field_column, f"a column {field_column} for options.instance_type_field "
                     f"({options.instance_type_field}); FOCUS 1.0 has no SkuPriceDetails: name SkuId, another "
                     "column, or ChargeDescription with options.instance_type_pattern", None, {})
        return file.parsed, pl.DataFrame(schema=INVOICE_SCHEMA)
    records = []
    for line, row in rows:
        record, bad_json = record_fields(row)
        if bad_json:
            file.problem(line, bad_json, "a JSON object (or NULL)", record.get(bad_json), row)
        else:
            records.append((line, record, row))
    resource_types = _resource_types(file, records)
    for line, record, row in records:
        gpu_type = resource_types.get(str(record.get("ResourceId")))
        if gpu_type is None:
            file.parsed.skip("charge for something other than a GPU instance")
        elif gpu_type not in hardware:
            file.problem(line, options.instance_type_field, "an instance type mapped to a GPU type declared "
                         "under hardware", record.get(options.instance_type_field), row)
        else:
            _charge(file, line, record, row, gpu_type, day)
    return file.parsed, pl.DataFrame(file.invoices, schema=INVOICE_SCHEMA)


def invoice_by_gpu_type(invoiced: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """Per GPU type: the day's invoiced instance-hours (``node_hours``) and
    GPU-hours, what they cost at the declared rental rate, what the invoice
    says (billed, effective, list) and billed or effective minus declared."""
    return (
        invoiced.group_by("gpu_type")
        .agg(node_hours=pl.col("hours").sum(), gpu_hours=pl.col("gpu_hours").sum(),
             billed_cost_usd=pl.col("billed_cost").sum(), effective_cost_usd=pl.col("effective_cost").sum(),
             list_cost_usd=pl.col("list_cost").sum())
        .join(hardware, on="gpu_type", how="left")
        .with_columns(declared_cost_usd=cost.rental_usd())
        .with_columns(billed_minus_declared_usd=pl.col("billed_cost_usd") - pl.col("declared_cost_usd"),
                      effective_minus_declared_usd=pl.col("effective_cost_usd") - pl.col("declared_cost_usd"))
        .drop("gpus_per_node", "rental_usd_per_gpu_hour")
        .sort("gpu_type")
    )


def owned_fleet_problems(request: DayRequest, invoiced: pl.DataFrame) -> list[Problem]:
    """A billed GPU type with ``fleet_nodes`` declared: the bill's idle would
    be invented (an owned fleet's unallocated nodes), one problem each."""
    billed = sorted(set(invoiced["gpu_type"].to_list()))
    return [Problem(source=request.name, column=f"hardware.{gpu_type}.fleet_nodes", expected=(
        f"no fleet_nodes for {gpu_type}, which this cloud bill charges by the instance (a bill's hours without "
        "an instance are no cost, not idle nodes); declare owned nodes under a GPU type of their own"))
        for gpu_type in billed if request.config.hardware[gpu_type].fleet_nodes is not None]


def day_result(request: DayRequest, files: list[Path], contents: list[str | pl.DataFrame]) -> SourceResult:
    """The day's node log and invoiced cost from the files' contents: CSV text or a Parquet frame."""
    result = SourceResult(frame=None, files=list(files))
    frames, invoices = [], []
    for path, content in zip(files, contents):
        rows = list(enumerate(content.to_dicts(), start=1)) if isinstance(content, pl.DataFrame) else csv_rows(content, display_path(path))
        parsed, invoice = parse_focus(rows, str(path), request.options, source=request.name,
                                      hardware=request.config.hardware, day=(request.start, request.end))
        result.extra.setdefault("records", {})[str(path)] = len(rows)
        frames.append(alloc.merge(result, parsed))
        invoices.append(invoice)
    invoiced = pl.concat(invoices) if invoices else pl.DataFrame(schema=INVOICE_SCHEMA)
    result.extra["invoiced_cost"] = invoiced
    result.extra["invoice_by_gpu_type"] = invoice_by_gpu_type(invoiced, hardware_frame(request.config))
    result = alloc.finish(result, frames, request, outside="usage outside the day")
    result.problems += owned_fleet_problems(request, invoiced)
    billed, declared = (float(result.extra["invoice_by_gpu_type"][c].sum()) for c in ("billed_cost_usd",
                                                                                     "declared_cost_usd"))
    result.extra["summary"] += f"; invoiced ${billed:,.2f} billed against ${declared:,.2f} at the declared rates"
    return result


def read(request: DayRequest) -> SourceResult:
    return alloc.read_day(request, day_result)


KIND = SourceKind(
    name="focus", feeds="node_log", read=read, options=FocusOptions, suite="node_log",
    description="FOCUS cost and usage exports: GPU instance-hours as the node log, invoiced cost beside it",
)
