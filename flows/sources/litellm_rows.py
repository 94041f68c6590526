"""LiteLLM spend-log rows to openbooks request rows, as pure Polars.

A row is one ``LiteLLM_SpendLogs`` record (LiteLLM's ``schema.prisma``):
``request_id``, ``startTime`` (a timestamp without offset), ``model``,
``prompt_tokens``, ``completion_tokens``, ``user``, ``end_user``, ``api_key``
(the hashed key), ``team_id``, ``status``, ``cache_hit``, ``metadata`` (JSON
text) and ``request_tags`` (a JSON list as text). Cached prompt tokens are
only in ``metadata``: LiteLLM logs the call's usage there as ``usage_object``
(older versions: ``additional_usage_values``), OpenAI-style
``prompt_tokens_details.cached_tokens`` or Anthropic-style
``cache_read_input_tokens``; both are part of ``prompt_tokens``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, model_validator

from openbooks.flows.sources.base import FEEDS, Problem
from openbooks.flows.sources.limits import MAX_COUNT

FAILED = "failed call (status is not success)"
RESPONSE_CACHE = "LiteLLM response-cache hit (cache_hit = True)"
OUTSIDE = "outside the business day"
CACHED_PATHS = tuple(f"$.{usage}.{field}" for usage in ("usage_object", "additional_usage_values")
                     for field in ("prompt_tokens_details.cached_tokens", "cache_read_input_tokens"))
TEXT_COLUMNS = ("request_id", "model", "model_group", "user", "end_user", "api_key", "team_id", "organization_id",
                "status", "cache_hit", "metadata", "request_tags")
REGEX_SPECIAL = set("\\.+*?()|[]{}^$#&-~")


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

    def metadata_paths(self) -> list[str]:
        """The keys of ``metadata`` it reads."""
        return [f"$.{self.metadata}"] if self.metadata else []

    def origin(self) -> str:
        if self.constant is not None:
            return "constant"
        if self.column:
            return self.column
        return f"metadata.{self.metadata}" if self.metadata else "request_tags"

    def expr(self) -> pl.Expr:
        """The mapped value of each row (null when it cannot be mapped)."""
        if self.constant is not None:
            raw = pl.lit(self.constant, dtype=pl.Utf8)
        elif self.column:
            raw = pl.col(self.column)
        elif self.metadata:
            raw = pl.col(f"$.{self.metadata}")  # extracted by ``json_values``
        else:
            prefix = "".join("\\" + c if c in REGEX_SPECIAL else c for c in self.tag_prefix)
            raw = pl.col("request_tags").str.extract(f'"{prefix}([^"]*)"')
        raw = pl.when(raw == "").then(None).otherwise(raw)
        if self.values:
            raw = raw.replace_strict(self.values, default=None, return_dtype=pl.Utf8)
        return raw.fill_null(self.default) if self.default is not None else raw


@dataclass(frozen=True)
class Fallback:
    """A chain of mappings: each row takes the first that gives a value, as
    LiteLLM's own spend views name a customer (``end_user``, else ``user``,
    else ``team_id``, else the key's alias)."""

    fields: tuple[FieldMapping, ...]

    def metadata_paths(self) -> list[str]:
        return [path for field in self.fields for path in field.metadata_paths()]

    def origin(self) -> str:
        return " / ".join(field.origin() for field in self.fields)

    def expr(self) -> pl.Expr:
        return pl.coalesce([field.expr() for field in self.fields])


# LiteLLM_SpendLogs names the caller in end_user (the request's ``user``
# field), user (the key's internal user), team_id, and the key's alias in
# metadata (user_api_key_alias); a row with none of them is "unknown".
CUSTOMER_CHAIN = (FieldMapping(column="end_user"), FieldMapping(column="user"), FieldMapping(column="team_id"),
                  FieldMapping(metadata="user_api_key_alias"), FieldMapping(constant="unknown"))


def chained(mapping: FieldMapping | list[FieldMapping] | tuple[FieldMapping, ...]) -> FieldMapping | Fallback:
    """One mapping as it is; a list as a ``Fallback`` chain."""
    return mapping if isinstance(mapping, FieldMapping) else Fallback(tuple(mapping))


def json_values(documents: pl.Series, paths: list[str]) -> pl.DataFrame:
    """Each JSONPath's value (as text) in each document, every document parsed
    once (DuckDB's JSON reader; Polars parses a document once per path).
    ``_json_invalid`` marks documents that are not JSON."""
    import duckdb

    listed = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    frame = pl.DataFrame({"doc": documents})  # noqa: F841 - read by DuckDB below
    with duckdb.connect() as con:
        found = con.sql(f"SELECT try(json_extract_string(doc, {listed})) AS v, doc IS NOT NULL AND v IS NULL AS bad "
                        "FROM frame").pl()
    return pl.DataFrame([found["v"].list.get(i, null_on_oob=True).alias(p) for i, p in enumerate(paths)]
                        + [found["bad"].alias("_json_invalid")])


def typed(rows: pl.DataFrame, zone: str, paths: list[str]) -> pl.DataFrame:
    """Spend-log rows with every known column, text as text, ``startTime`` as UTC
    (a time without offset is read in ``zone``), token counts as numbers, and
    the value of each of ``paths`` in ``metadata``."""
    missing = [pl.lit(None, dtype=pl.Utf8).alias(c) for c in TEXT_COLUMNS if c not in rows.columns]
    rows = rows.with_columns(missing).with_columns(pl.col(c).cast(pl.Utf8) for c in TEXT_COLUMNS)
    wanted = list(dict.fromkeys([*CACHED_PATHS, *paths]))
    rows = pl.concat([rows, json_values(rows["metadata"], wanted)], how="horizontal")
    start = pl.col("startTime")
    if rows.schema["startTime"] == pl.Utf8:
        start = start.str.strip_chars().str.replace("T", " ").str.to_datetime(time_unit="us", strict=False)
    start = start.cast(pl.Datetime("us"))
    return rows.with_columns(
        start.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
        .alias("ts"),
        *(pl.col(c).cast(pl.Float64, strict=False).alias(f"{c}_n") for c in ("prompt_tokens", "completion_tokens")),
        pl.coalesce(list(CACHED_PATHS)).cast(pl.Float64, strict=False).fill_null(0).alias("cached_n"),
    )


def left_out() -> pl.Expr:
    """Why a row is not a served request: a failed call or a response-cache hit (else null)."""
    status = pl.col("status").str.strip_chars()
    failed = status.is_not_null() & (status != "") & (status != "success")
    cache_hit = pl.col("cache_hit").str.strip_chars().str.to_lowercase() == "true"
    return pl.when(failed).then(pl.lit(FAILED)).when(cache_hit).then(pl.lit(RESPONSE_CACHE))


def whole(column: str) -> pl.Expr:
    """A whole, non-negative count that an Int64 holds (2^70 or 1e300 is its row's problem, not a cast error)."""
    value = pl.col(column)
    return value.is_not_null() & (value >= 0) & (value == value.floor()) & (value < float(MAX_COUNT + 1))


def checks(mapping: dict[str, FieldMapping | Fallback], model_field: str) -> list[tuple[str, str, pl.Expr]]:
    """(column, what was expected, rows that pass), in the order a row is told about."""
    metadata = pl.col("metadata")
    listed = [
        ("metadata", "a JSON object",
         metadata.is_null() | (metadata.str.strip_chars().str.starts_with("{") & ~pl.col("_json_invalid"))),
        ("startTime", "a timestamp", pl.col("ts").is_not_null()),
        ("prompt_tokens", "a whole, non-negative number of tokens below 2^63", whole("prompt_tokens_n")),
        ("completion_tokens", "a whole, non-negative number of tokens below 2^63", whole("completion_tokens_n")),
        ("metadata", "cached tokens between 0 and prompt_tokens",
         whole("cached_n") & (pl.col("cached_n") <= pl.col("prompt_tokens_n"))),
        ("request_id", "a value", pl.col("request_id").is_not_null() & (pl.col("request_id") != "")),
        (model_field, "a value", pl.col(model_field).is_not_null() & (pl.col(model_field) != "")),
    ]
    listed += [(field.origin(), f"a value for {name} (map it under options.{name.removesuffix('_id')})",
                pl.col(name).is_not_null()) for name, field in mapping.items()]
    return listed


def first_failure(listed: list[tuple[str, str, pl.Expr]]) -> pl.Expr:
    """The index of the first check a row fails (null when it passes all)."""
    expr = pl.lit(None, dtype=pl.Int32)
    for index in reversed(range(len(listed))):
        expr = pl.when(~listed[index][2].fill_null(False)).then(pl.lit(index, dtype=pl.Int32)).otherwise(expr)
    return expr


def request_rows(rows: pl.DataFrame, mapping: dict[str, FieldMapping | Fallback], *, source: str, origin: str | None,
                 model_field: str, zone: str, start: datetime, end: datetime, first_line: int = 1
                 ) -> tuple[pl.DataFrame, dict[str, int], list[Problem]]:
    """Served requests of the day, the rows left out (reason → count), the problems."""
    paths = [path for field in mapping.values() for path in field.metadata_paths()]
    frame = typed(rows, zone, paths).with_columns(
        pl.int_range(first_line, first_line + pl.len(), dtype=pl.Int64).alias("line"),
        *(field.expr().alias(name) for name, field in mapping.items()),
    )
    listed = checks(mapping, model_field)
    frame = frame.with_columns(left_out().alias("_left_out"), first_failure(listed).alias("_failed"))
    served = frame.filter(pl.col("_left_out").is_null())
    bad = served.filter(pl.col("_failed").is_not_null())
    problems = [Problem(source, listed[row["_failed"]][1], file=origin, line=row["line"],
                        column=listed[row["_failed"]][0], record=json.dumps(raw_record(row, rows.columns), default=str))
                for row in bad.iter_rows(named=True)]
    good = served.filter(pl.col("_failed").is_null())
    inside = good.filter((pl.col("ts") >= start) & (pl.col("ts") < end))
    skipped = dict(frame.filter(pl.col("_left_out").is_not_null()).group_by("_left_out").len().iter_rows())
    if good.height > inside.height:
        skipped[OUTSIDE] = good.height - inside.height
    return canonical(inside, model_field, origin or source), skipped, problems


def raw_record(row: dict, columns: list[str]) -> dict:
    return {c: row.get(c) for c in columns if c not in ("messages", "response", "proxy_server_request")}


def canonical(frame: pl.DataFrame, model_field: str, origin: str) -> pl.DataFrame:
    return frame.select(
        "ts", "request_id", pl.col(model_field).alias("model"), "channel", "customer_id",
        pl.col("prompt_tokens_n").cast(pl.Int64).alias("input_tokens"),
        pl.col("cached_n").cast(pl.Int64).alias("cached_tokens"),
        pl.col("completion_tokens_n").cast(pl.Int64).alias("output_tokens"),
        pl.lit(origin, dtype=pl.Utf8).alias("source_file"), "line",
    ).select(*FEEDS["requests"], "source_file", "line")
