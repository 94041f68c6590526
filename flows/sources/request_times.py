"""How a request log's ``ts`` is read: ``options.timezone`` and ``options.epoch``.

By default ``ts`` is a ``TIMESTAMP WITH TIME ZONE``, ISO 8601 text with a
UTC offset, or a naive Parquet ``TIMESTAMP`` read as UTC. With
``timezone: Asia/Shanghai`` a time without an offset (text, or a naive
Parquet ``TIMESTAMP``) is a wall-clock time in that zone; text with an offset
keeps its own. With ``epoch: seconds`` (or ``milliseconds``) ``ts`` is a
number since 1970-01-01T00:00Z, as an integer or decimal column or as text.

Everything is SQL over a DuckDB expression, without DuckDB's ICU extension
(which may not be installed): a zone's offsets around the day are worked
out in Python and written into the query as a ``CASE`` on the local time's
microseconds. A wall-clock time that happens twice when clocks go back is
read as the first (as Python's ``fold=0``); one skipped when they go forward
is read with the offset before the change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator

from openbooks.config.common import zone_name

EPOCH_MICROS = {"seconds": 1_000_000, "milliseconds": 1_000}
UNIX_EPOCH = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")
NAIVE_TYPES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATETIME")
OFFSET = "(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
STEP = timedelta(minutes=15)  # zones change their offset on a quarter hour


class RequestOptions(BaseModel):
    """``sources.requests.options``: how ``ts`` is written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str | None = None  # for ts without a UTC offset; unset: text needs an offset, a naive TIMESTAMP is UTC
    epoch: Literal["seconds", "milliseconds"] | None = None  # ts as a number since 1970-01-01T00:00Z

    _zone = field_validator("timezone")(lambda cls, v: v if v is None else zone_name(v))

    def expected(self) -> str | None:
        """What a readable ``ts`` is, when the options change it (else the suite's words)."""
        if self.epoch:
            return f"a number of {self.epoch} since 1970-01-01T00:00Z"
        if self.timezone:
            return f"an ISO 8601 timestamp (read in {self.timezone} when it has no UTC offset)"
        return None


def from_micros(micros_sql: str) -> str:
    return f"({UNIX_EPOCH} + to_microseconds({micros_sql}))"


def epoch_sql(number_sql: str, unit: str) -> str:
    """A number of ``unit`` since the Unix epoch as a UTC timestamp."""
    return from_micros(f"CAST(round(CAST({number_sql} AS DECIMAL(38, 6)) * {EPOCH_MICROS[unit]}) AS BIGINT)")


def epoch_text_sql(text_sql: str, unit: str) -> str:
    return f"CASE WHEN regexp_matches({text_sql}, '^[0-9]+(\\.[0-9]+)?$') THEN {epoch_sql(text_sql, unit)} END"


def offsets(zone: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """The zone's UTC offsets from two days before ``start`` to two days after
    ``end``: (the first local microsecond it applies to, offset in
    microseconds), the first from the beginning of time."""
    tz = ZoneInfo(zone)
    moment, last = start - timedelta(days=2), end + timedelta(days=2)
    found = [(None, moment.astimezone(tz).utcoffset())]
    while moment < last:
        moment += STEP
        offset = moment.astimezone(tz).utcoffset()
        if offset != found[-1][1]:
            # a repeated hour keeps the earlier offset, a skipped one the offset before
            local_start = moment.replace(tzinfo=None) + max(offset, found[-1][1])
            found.append((local_start, offset))
    micros = timedelta(microseconds=1)
    epoch = datetime(1970, 1, 1)
    return [(-2**63 if at is None else (at - epoch) // micros, offset // micros) for at, offset in found]


def local_sql(naive_sql: str, zone: str, start: datetime, end: datetime) -> str:
    """A naive timestamp read as wall-clock time in ``zone``, as a UTC timestamp."""
    local = f"epoch_us({naive_sql})"
    cases = offsets(zone, start, end)
    offset = str(cases[0][1])
    for first, micros in cases[1:]:
        offset = f"CASE WHEN {local} >= {first} THEN {micros} ELSE {offset} END"
    return from_micros(f"{local} - ({offset})")


def text_sql(value: str, options: RequestOptions, start: datetime, end: datetime) -> str:
    """Text ``ts`` as a UTC timestamp, strictly (NULL when it is not one)."""
    if options.epoch:
        return epoch_text_sql(value, options.epoch)
    with_offset = f"regexp_matches({value}, '{OFFSET}')"
    if not options.timezone:
        return f"CASE WHEN {with_offset} THEN TRY_CAST({value} AS TIMESTAMPTZ) END"
    naive = local_sql(f"TRY_CAST({value} AS TIMESTAMP)", options.timezone, start, end)
    return f"CASE WHEN {with_offset} THEN TRY_CAST({value} AS TIMESTAMPTZ) ELSE {naive} END"


def typed_column_sql(column_sql: str, file_type: str, options: RequestOptions, start: datetime,
                     end: datetime) -> str | None:
    """A typed (non-text) ``ts`` column as a UTC timestamp, when the options
    say how (None: as the default reading does)."""
    base = file_type.split("(")[0]
    if options.epoch and base in NUMBER_TYPES:
        return epoch_sql(column_sql, options.epoch)
    if options.timezone and base in NAIVE_TYPES:
        return local_sql(f"CAST({column_sql} AS TIMESTAMP)", options.timezone, start, end)
    return None
