"""What the OpenAI API cost: the Costs API's pages or the dashboard's cost export.

``GET /v1/organization/costs?bucket_width=1d&group_by=line_item,project_id``
answers pages of daily buckets (the only width it offers, UTC days):
``{"object": "page", "data": [{"object": "bucket", "start_time",
"end_time", "results": [{"object": "organization.costs.result", "amount":
{"value": 0.06, "currency": "usd"}, "line_item", "project_id"}]}],
"has_more", "next_page"}`` (https://platform.openai.com/docs/api-reference/usage/costs).
The dashboard's cost export (Usage, "Cost", Export) writes the same as CSV:
``start_time``, ``end_time``, ``start_time_iso``, ``end_time_iso``,
``amount_value``, ``amount_currency``, ``line_item``, ``project_id``,
``organization_id``, ``organization_name``; a day without cost is a row with
empty amount.

A bucket is booked whole to the business day that holds its middle (a UTC
day's 12:00Z): openbooks does not split a day's spend into hours it was not
given. Amounts are dollars; a currency other than USD is refused.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from openbooks.flows.sources.base import Problem
from openbooks.flows.sources.files import display_path
from openbooks.flows.sources.openai_usage_export import number
from openbooks.errors import InputError

SCHEMA = {"bucket_start": pl.Datetime("us", "UTC"), "bucket_end": pl.Datetime("us", "UTC"), "project_id": pl.Utf8,
          "line_item": pl.Utf8, "amount_usd": pl.Float64, "source_file": pl.Utf8, "line": pl.Int64}
OUTSIDE = "cost bucket of another business day"
EMPTY = "cost bucket without cost (an empty row of the export)"
CSV_COLUMNS = ("start_time", "end_time", "amount_value", "amount_currency")


def amount(value) -> float:
    """``amount.value`` in dollars (a JSON number, or a number written as text)."""
    if isinstance(value, bool):
        raise ValueError("amount.value|an amount in dollars")
    try:
        dollars = float(value)
    except (TypeError, ValueError):
        raise ValueError("amount.value|an amount in dollars") from None
    if not math.isfinite(dollars):
        raise ValueError("amount.value|an amount in dollars")
    return dollars


def bucket_window(bucket: dict) -> tuple[datetime, datetime]:
    start, end = bucket.get("start_time"), bucket.get("end_time")
    for name, value in (("start_time", start), ("end_time", end)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}|a Unix time in seconds")
    if end <= start:
        raise ValueError("end_time|a time after start_time")
    return datetime.fromtimestamp(start, tz=timezone.utc), datetime.fromtimestamp(end, tz=timezone.utc)


def cost_row(bucket: dict, result: dict) -> dict:
    """One row of spend from a bucket and one of its results; raises ValueError 'field|expected'."""
    start, end = bucket_window(bucket)
    money = result.get("amount") or {}
    currency = str(money.get("currency") or "usd").lower()
    if currency != "usd":
        raise ValueError("amount.currency|usd (openbooks' figures are in US dollars)")
    return {"bucket_start": start, "bucket_end": end, "project_id": result.get("project_id") or None,
            "line_item": result.get("line_item") or None, "amount_usd": amount(money.get("value"))}


def in_day(row: dict, start: datetime, end: datetime) -> bool:
    """Whether the bucket's middle lies in the business day [start, end)."""
    middle = row["bucket_start"] + (row["bucket_end"] - row["bucket_start"]) / 2
    return start <= middle < end


def spend_rows(numbered, *, source: str, origin: str, start: datetime, end: datetime,
               seen: dict) -> tuple[list[dict], int, list[Problem]]:
    """The day's spend rows from (number, (bucket, result)) pairs, the rows of other days, the problems."""
    rows, outside, problems = [], 0, []
    for number_, (bucket, result) in numbered:
        try:
            row = cost_row(bucket, result)
        except ValueError as exc:
            field, _, expected = str(exc).partition("|")
            problems.append(Problem(source, expected, file=origin, line=number_, column=field,
                                    record=json.dumps(result, default=str)))
            continue
        if not in_day(row, start, end):
            outside += 1
            continue
        key = (row["bucket_start"], row["project_id"], row["line_item"])
        if key in seen:
            problems.append(Problem(source, f"each bucket, project and line item once (also in {seen[key]})",
                                    file=origin, line=number_, column="start_time",
                                    record=json.dumps(result, default=str)))
            continue
        seen[key] = f"{display_path(origin)} result {number_}"
        rows.append(row | {"source_file": origin, "line": number_})
    return rows, outside, problems


def page_results(path: Path) -> list[tuple[int, tuple[dict, dict]]]:
    try:
        page = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise InputError(f"{display_path(path)}: not a saved costs page ({exc})") from None
    if not isinstance(page, dict) or page.get("object") != "page":
        raise InputError(f'{display_path(path)}: expected a Costs API page ({{"object": "page", "data": [...]}})')
    pairs = ((bucket, result) for bucket in page.get("data") or [] for result in bucket.get("results") or [])
    return list(enumerate(pairs, 1))


def export_results(path: Path, delimiter: str = ",") -> tuple[list[tuple[int, tuple[dict, dict]]], int]:
    """The cost export's (line, (bucket, result)) pairs and how many empty rows were left out."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            header, rows = reader.fieldnames or [], list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{display_path(path)}: not a readable cost export ({exc})") from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{display_path(path)} line 1 column {missing[0]}: missing column(s) {', '.join(missing)}; "
                         f"expected the usage dashboard's cost export (columns {', '.join(CSV_COLUMNS)}, ...)")
    pairs = []
    for line, row in enumerate(rows, 2):
        if (row.get("amount_value") or "").strip() == "":
            continue
        bucket = {"start_time": number(row.get("start_time")), "end_time": number(row.get("end_time"))}
        result = {"amount": {"value": row["amount_value"].strip(), "currency": row.get("amount_currency")},
                  "line_item": (row.get("line_item") or "").strip(),
                  "project_id": (row.get("project_id") or "").strip()}
        pairs.append((line, (bucket, result)))
    return pairs, len(rows) - len(pairs)


def spend_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA).sort("bucket_start", "project_id", "line_item", nulls_last=True)
