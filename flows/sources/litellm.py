"""Request rows from a LiteLLM proxy's spend logs.

``kind: litellm`` feeds ``requests`` (and so ``customer_economics``): one row
per served call of the day. With ``options.dsn`` it reads ``LiteLLM_SpendLogs``
from LiteLLM's Postgres in a read-only transaction, bounded to the day by
``startTime``; the password comes from the environment variable named by
``options.password_env`` and is never written anywhere. Without a DSN it reads
the source's ``path``: CSV or Parquet exports of that table.

Failed calls and LiteLLM's own response-cache hits are left out and counted;
cached prompt tokens come from ``metadata`` (see ``litellm_rows``); channel and
customer come from the declared ``options.channel`` / ``options.customer``
(by default the customer is the first of ``end_user``, ``user``, ``team_id``
and the key's alias that a row holds, as LiteLLM's own spend views name it).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from openbooks.flows.sources.base import DayRequest, SourceKind, SourceResult
from openbooks.flows.sources.litellm_rows import CUSTOMER_CHAIN, FieldMapping, chained, request_rows
from openbooks.flows.sources.recorded_files import listed_files, record_files
from openbooks.flows.sources.requests import aggregate_request_frame, day_scope, keep_samples, usage_result
from openbooks.config.common import zone_name
from openbooks.errors import ConfigError, InputError, SourceUnavailable

COLUMNS = ["request_id", "startTime", "model", "model_group", "prompt_tokens", "completion_tokens", "user",
           "end_user", "api_key", "team_id", "organization_id", "status", "cache_hit", "metadata", "request_tags"]
JSON_COLUMNS = ("metadata", "request_tags")
DB_TYPES = {"startTime": pl.Datetime("us"), "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64}
REQUIRED = ["request_id", "startTime", "model", "prompt_tokens", "completion_tokens"]


class LiteLLMOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dsn: str | None = None  # libpq connection string without the password, e.g. "host=db dbname=litellm user=reader"
    password_env: str | None = None  # the environment variable holding the password
    table: str = "LiteLLM_SpendLogs"
    timezone: str = "UTC"  # how startTime (stored without offset) is read
    model_field: Literal["model", "model_group"] = "model"
    channel: FieldMapping = FieldMapping(constant="api")
    # one mapping, or a fallback chain: each row takes the first that gives a value
    customer: FieldMapping | Annotated[tuple[FieldMapping, ...], Field(min_length=1)] = CUSTOMER_CHAIN
    connect_timeout_seconds: int = Field(10, gt=0)

    @field_validator("dsn")
    @classmethod
    def _no_password(cls, dsn: str | None) -> str | None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        try:
            parsed = conninfo_to_dict(dsn) if dsn else {}
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"expected a libpq connection string such as 'host=db dbname=litellm user=reader' "
                             f"({reason})") from None
        if "password" in parsed:
            raise ValueError("the DSN must not hold a password; name its environment variable in options.password_env")
        return dsn

    _zone = field_validator("timezone")(lambda cls, v: zone_name(v))


def where(options: LiteLLMOptions) -> str:
    """The database as users know it, without credentials: host, port, database."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(options.dsn)
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '?')}"


def connect(options: LiteLLMOptions, source: str):
    """A read-only connection; failures are one line naming the server and what to check."""
    import psycopg

    password = os.environ.get(options.password_env) if options.password_env else None
    if options.password_env and password is None:
        raise SourceUnavailable(f"sources.{source}: environment variable {options.password_env} is not set "
                                "(options.password_env names where the database password is)")
    try:
        conn = psycopg.connect(options.dsn, password=password, connect_timeout=options.connect_timeout_seconds,
                               options="-c default_transaction_read_only=on")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = "the password in " + options.password_env if "password" in first and options.password_env else \
            "options.dsn and that the server is up"
        raise SourceUnavailable(f"sources.{source}: cannot connect to PostgreSQL at {where(options)} ({first}); "
                                f"check {hint}") from None
    conn.read_only = True
    return conn


def table_columns(conn, options: LiteLLMOptions, source: str) -> list[str]:
    rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                        [options.table]).fetchall()
    present = {r[0] for r in rows}
    if not present:
        raise SourceUnavailable(f"sources.{source}: table {options.table!r} not found at {where(options)}; "
                                "check options.table and that LiteLLM's database is the one in options.dsn")
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise SourceUnavailable(f"sources.{source}: table {options.table!r} at {where(options)} has no column "
                                f"{', '.join(missing)}; check options.table")
    return [c for c in COLUMNS if c in present]


def select_list(columns: list[str]):
    """The selected columns; JSON columns as their text, read the same way as an export's."""
    from psycopg import sql

    def one(column: str):
        name = sql.Identifier(column)
        return sql.SQL("{}::text AS {}").format(name, name) if column in JSON_COLUMNS else name

    return sql.SQL(", ").join(one(c) for c in columns)


def fetch_spend_rows(options: LiteLLMOptions, source: str, start: datetime, end: datetime) -> pl.DataFrame:
    """The day's spend-log rows, in ``startTime`` order, in one read-only transaction."""
    from psycopg import sql

    zone = ZoneInfo(options.timezone)
    lo, hi = (t.astimezone(zone).replace(tzinfo=None) for t in (start, end))
    with connect(options, source) as conn:
        columns = table_columns(conn, options, source)
        query = sql.SQL('SELECT {} FROM {} WHERE "startTime" >= %s AND "startTime" < %s '
                        'ORDER BY "startTime", request_id').format(select_list(columns), sql.Identifier(options.table))
        with conn.transaction(), conn.cursor() as cursor:
            rows = cursor.execute(query, [lo, hi]).fetchall()
    schema = {c: DB_TYPES.get(c, pl.Utf8) for c in columns}
    return pl.DataFrame(rows, schema=schema, orient="row")


def export_rows(path: Path) -> tuple[pl.DataFrame, int]:
    """A CSV or Parquet export's rows (as read) and the line number of the first."""
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        frame = pl.read_parquet(path) if parquet else pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: not a readable LiteLLM_SpendLogs export ({str(exc).splitlines()[0]})") from None
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"{path} line 1: missing column {', '.join(map(repr, missing))} "
                         f"(expected LiteLLM_SpendLogs columns, e.g. {REQUIRED})")
    return frame, 1 if parquet else 2


def requests_of_day(request: DayRequest) -> SourceResult:
    """The day's served requests as a canonical ``requests`` frame, the rows
    left out and the problems; nothing recorded or aggregated."""
    options: LiteLLMOptions = request.options
    mapping = {"channel": options.channel, "customer_id": chained(options.customer)}
    common = dict(source=request.name, mapping=mapping,
                  model_field=options.model_field, zone=options.timezone, start=request.start, end=request.end)
    if options.dsn:
        rows = fetch_spend_rows(options, request.name, request.start, request.end)
        frame, skipped, problems = request_rows(rows, origin=None, **common)
        return SourceResult(frame, skipped=skipped, problems=problems)
    if not getattr(request.source, "path", None):
        raise ConfigError(f"sources.{request.name}: give options.dsn (LiteLLM's database) or path "
                          "(CSV or Parquet exports of LiteLLM_SpendLogs)")
    files, frames, skipped, problems = listed_files(request), [], {}, []
    for path in files:
        rows, first = export_rows(path)
        frame, left, found = request_rows(rows, origin=str(path), first_line=first, **common)
        frames.append(frame)
        problems += found
        for reason, count in left.items():
            skipped[reason] = skipped.get(reason, 0) + count
    return SourceResult(pl.concat(frames), files=files, skipped=skipped, problems=problems)


def ready(request: DayRequest) -> None:
    """The database answers to the password and has the table (or the exports
    are there); a transient error otherwise."""
    options: LiteLLMOptions = request.options
    if not options.dsn:
        listed_files(request)
        return
    with connect(options, request.name) as conn:
        table_columns(conn, options, request.name)


def read(request: DayRequest) -> SourceResult:
    """The day's requests aggregated as openbooks' own request logs are (hourly
    token counts, per-customer usage, the requests suite's checks)."""
    day = requests_of_day(request)
    options: LiteLLMOptions = request.options
    label = f"{request.name} (LiteLLM at {where(options)})" if options.dsn else f"{request.name} ({len(day.files)} files)"
    usage = aggregate_request_frame(request.config, day.frame, day_scope(request), label)
    keep_samples(request, usage)
    record_files(request, day.files)
    result = usage_result(usage)
    result.files, result.skipped, result.problems = day.files, day.skipped, day.problems
    left_out = "".join(f"; {count} left out: {reason}" for reason, count in day.skipped.items())
    result.extra["summary"] = f"{day.frame.height} served requests{left_out}"
    return result


KIND = SourceKind(
    name="litellm",
    feeds="requests",
    read=read,
    options=LiteLLMOptions,
    suite="requests",
    description="LiteLLM proxy spend logs (LiteLLM_SpendLogs) from its Postgres or CSV/Parquet exports",
    files=False,  # with options.dsn nothing is read from files; path is then not needed
    ready=ready,
)
