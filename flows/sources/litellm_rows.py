"""LiteLLM spend-log rows to openbooks request rows, as pure functions.

A row is one ``LiteLLM_SpendLogs`` record (LiteLLM's ``schema.prisma``):
``request_id``, ``startTime`` (a timestamp without offset), ``model``,
``prompt_tokens``, ``completion_tokens``, ``user``, ``end_user``, ``api_key``
(the hashed key), ``team_id``, ``status``, ``cache_hit``, ``metadata`` (JSON)
and ``request_tags`` (a JSON list). Cached prompt tokens are only in
``metadata``: LiteLLM logs the call's usage there as ``usage_object`` (older
versions: ``additional_usage_values``), OpenAI-style
``prompt_tokens_details.cached_tokens`` or Anthropic-style
``cache_read_input_tokens``; both are part of ``prompt_tokens``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

from flows.sources.base import Problem

USAGE_KEYS = ("usage_object", "additional_usage_values")
FAILED = "failed call (status is not success)"
RESPONSE_CACHE = "LiteLLM response-cache hit (cache_hit = True)"
OUTSIDE = "outside the business day"


class FieldMapping(BaseModel):
    """Where a value comes from: exactly one of a constant, a spend-log column,
    a key inside ``metadata`` (dotted, e.g. ``spend_logs_metadata.channel``)
    or a request tag with a prefix (``channel:web`` with ``tag_prefix: "channel:"``);
    then optionally translated through ``values``, ``default`` when absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    constant: str | None = None
    column: Literal["api_key", "team_id", "user", "end_user", "organization_id", "model_group"] | None = None
    metadata: str | None = None
    tag_prefix: str | None = None
    values: dict[str, str] = {}
    default: str | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMapping:
        given = [n for n in ("constant", "column", "metadata", "tag_prefix") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of constant, column, metadata, tag_prefix (got {given or 'none'})")
        return self

    def origin(self) -> str:
        if self.constant is not None:
            return "constant"
        if self.column:
            return self.column
        return f"metadata.{self.metadata}" if self.metadata else f"request_tags ({self.tag_prefix}*)"

    def raw(self, row: dict, metadata: dict) -> str | None:
        if self.constant is not None:
            return self.constant
        if self.column:
            value = row.get(self.column)
        elif self.metadata:
            value = dig(metadata, self.metadata)
        else:
            value = next((t[len(self.tag_prefix):] for t in as_list(row.get("request_tags"))
                          if isinstance(t, str) and t.startswith(self.tag_prefix)), None)
        return None if value in (None, "") else str(value)

    def resolve(self, row: dict, metadata: dict) -> str | None:
        value = self.raw(row, metadata)
        if self.values and value is not None:
            value = self.values.get(value, self.default)
        return value if value is not None else self.default


def dig(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def as_json(value: Any) -> Any:
    """A JSON column as read: already parsed (Postgres jsonb) or text (CSV/Parquet exports)."""
    if isinstance(value, str):
        return json.loads(value) if value.strip() else None
    return value


def as_list(value: Any) -> list:
    try:
        parsed = as_json(value)
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


def cached_tokens(metadata: dict) -> int:
    """Cached prompt tokens from the usage LiteLLM logged in ``metadata`` (0 when none is given)."""
    for key in USAGE_KEYS:
        usage = metadata.get(key)
        if not isinstance(usage, dict):
            continue
        for path in ("prompt_tokens_details.cached_tokens", "cache_read_input_tokens"):
            value = dig(usage, path)
            if value is not None:
                return int(value)
    return 0


def left_out(row: dict) -> str | None:
    """Why a row is not a served request, if it is not one."""
    status = row.get("status")
    if status not in (None, "", "success"):
        return FAILED
    if str(row.get("cache_hit") or "").strip().lower() == "true":
        return RESPONSE_CACHE
    return None


def as_utc(value: Any, zone: ZoneInfo) -> datetime:
    """``startTime`` as UTC; a time without offset is read in ``zone``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise ValueError("not a timestamp")
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(ZoneInfo("UTC"))


def request_row(row: dict, mapping: dict[str, FieldMapping], model_field: str, zone: ZoneInfo) -> dict:
    """One request row from one spend-log row; raises ValueError naming the column."""
    try:
        metadata = as_json(row.get("metadata")) or {}
    except ValueError:
        raise ValueError("metadata|a JSON object") from None
    out: dict[str, Any] = {"request_id": row.get("request_id"), "model": row.get(model_field)}
    try:
        out["ts"] = as_utc(row.get("startTime"), zone)
    except (TypeError, ValueError):
        raise ValueError("startTime|a timestamp") from None
    for name, column in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens")):
        value = row.get(column)
        if value is None or isinstance(value, bool) or int(value) != value or value < 0:
            raise ValueError(f"{column}|a whole, non-negative number of tokens")
        out[name] = int(value)
    out["cached_tokens"] = cached_tokens(metadata)
    if not 0 <= out["cached_tokens"] <= out["input_tokens"]:
        raise ValueError(f"metadata|cached tokens between 0 and prompt_tokens ({out['cached_tokens']} cached)")
    for name, field in mapping.items():
        out[name] = field.resolve(row, metadata)
        if out[name] is None:
            raise ValueError(f"{field.origin()}|a value for {name} (map it under options.{name})")
    if not out["request_id"] or not out["model"]:
        raise ValueError(f"{'request_id' if not out['request_id'] else model_field}|a value")
    return out


def request_rows(rows: list[dict], mapping: dict[str, FieldMapping], *, source: str, origin: str | None,
                 model_field: str, zone: ZoneInfo, start: datetime, end: datetime, first_line: int = 1
                 ) -> tuple[list[dict], dict[str, int], list[Problem]]:
    """Served requests of the day, the rows left out (reason → count), the problems."""
    kept, skipped, problems = [], {}, []
    for number, row in enumerate(rows, start=first_line):
        reason = left_out(row)
        try:
            out = request_row(row, mapping, model_field, zone)
        except ValueError as exc:
            column, _, expected = str(exc).partition("|")
            if reason is None:
                problems.append(Problem(source, expected or str(exc), file=origin, line=number, column=column,
                                        record=json.dumps(row, default=str)))
            else:
                skipped[reason] = skipped.get(reason, 0) + 1
            continue
        if reason is None and not start <= out["ts"] < end:
            reason = OUTSIDE
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        kept.append(out | {"source_file": origin or source, "line": number})
    return kept, skipped, problems
