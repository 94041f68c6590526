"""Request-level logs for a day, at any volume: ``openbooks gen``.

Writes ``requests/{day}/part-NNNN.parquet`` (one row per request) and the
day's node log ``node_log/{day}.csv``: the sample fleet (``openbooks.sample``),
or with ``scale_fleet`` (``openbooks gen``'s default) that fleet scaled to
the requests' volume (``fleet_share``), so that the day books as the
published one does (cost and revenue in proportion) at any size; so
``configs``-style sources can run the day straight away. DuckDB generates
the rows with SQL over ``range()`` and a hash of the row number as its
pseudo-random source, and writes them straight to Parquet: no Python loop, no
frame in memory (10⁸ rows in a few minutes on two cores). The same day, size
and seed always give the same files.

Distributions (assumed, shaped after DeepSeek's published day):

- time: the business day (12:00 to 12:00, Asia/Shanghai) following the hourly
  income shape ``sample.INCOME_SHAPE``, in time order across the files;
- customers: ``max(100, N / 1000)`` of them, heavy-tailed (customer ``k`` has
  rank ``C · u³``: the busiest 1% send about a fifth of all requests); each
  customer uses one channel (30% web, 35% app, 35% API);
- model: half deepseek-r1, half deepseek-v3;
- input tokens: log-normal, mean ~2,000 (DeepSeek's 608B input tokens over
  ~300M requests), capped at 131,072; 30% of requests hit no cache, the rest
  have 60–100% of their input cached (~56% in all, as published);
- output tokens: log-normal, mean ~900 for R1 and ~350 for V3, capped at 32,768.

At ~300M requests a day's tokens come close to the published day's.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from openbooks import sample

MODELS = ("deepseek-r1", "deepseek-v3")
# Requests that carry the published day's tokens (608B input tokens at the
# ~2,027 input tokens a generated request averages): the whole sample fleet.
REFERENCE_REQUESTS = 300_000_000
_U64 = "18446744073709551616.0"


def _uniform(stream: int, of: str = "i") -> str:
    """A pseudo-random uniform in [0, 1) for row ``of``, independent per stream."""
    return f"(hash({of} * 16 + {stream})::DOUBLE / {_U64})"


def _hour_of_shape() -> tuple[str, str, str]:
    """SQL for the hour of quantile ``p`` under the income shape (piecewise
    constant density), and the cumulative shares at its start and end."""
    total = sum(sample.INCOME_SHAPE)
    cumulative = [0.0]
    for weight in sample.INCOME_SHAPE:
        cumulative.append(cumulative[-1] + weight / total)
    hours = len(sample.INCOME_SHAPE)
    case = "CASE " + " ".join(f"WHEN p < {cumulative[h + 1]!r} THEN {h}" for h in range(hours - 1))
    case += f" ELSE {hours - 1} END"
    lower = "list_value(" + ", ".join(map(repr, cumulative[:-1])) + ")[h + 1]"
    upper = "list_value(" + ", ".join(map(repr, cumulative[1:])) + ")[h + 1]"
    return case, lower, upper


def requests_sql(n: int, first: int, last: int, day_start: datetime, seed: int = 0) -> str:
    """SELECT of requests ``first`` … ``last - 1`` of a day of ``n``."""
    customers = max(100, n // 1000)
    start_us = int(day_start.timestamp() * 1_000_000)
    hour, lower, upper = _hour_of_shape()
    s = seed * 16 * 8  # streams of another seed
    u = lambda stream: _uniform(stream + s)  # noqa: E731
    return f"""
WITH base AS (
  SELECT range AS i, (range + 0.5) / {n} AS p,
         sqrt(-2 * ln(greatest({u(1)}, 1e-300))) AS radius, 2 * pi() * {u(2)} AS angle,
         floor({customers} * pow({u(3)}, 3))::BIGINT AS k,
         CASE WHEN {u(4)} < 0.5 THEN '{MODELS[0]}' ELSE '{MODELS[1]}' END AS model,
         {u(5)} AS cache_draw
  FROM range({first}, {last})
), shaped AS (
  SELECT *, {hour} AS h FROM base
), sized AS (
  SELECT *,
    least(131072, greatest(1, round(1229 * exp(radius * cos(angle)))))::BIGINT AS input_tokens,
    least(32768, greatest(1, round(CASE WHEN model = '{MODELS[0]}' THEN 653 ELSE 254 END
                                   * exp(0.8 * radius * sin(angle)))))::BIGINT AS output_tokens,
    hash(k * 16 + {7 + s}) % 100 AS channel_draw
  FROM shaped
)
SELECT
  make_timestamp(({start_us} + (h + (p - {lower}) / ({upper} - {lower})) * 3600000000)::BIGINT)::TIMESTAMPTZ AS ts,
  printf('%016x', hash(i * 16 + {6 + s})) AS request_id,
  model,
  CASE WHEN channel_draw < 30 THEN 'web' WHEN channel_draw < 65 THEN 'app' ELSE 'api' END AS channel,
  printf('cus_%07d', k) AS customer_id,
  input_tokens,
  CASE WHEN cache_draw < 0.3 THEN 0
       ELSE floor(input_tokens * (0.6 + 0.4 * (cache_draw - 0.3) / 0.7)) END::BIGINT AS cached_tokens,
  output_tokens
FROM sized
"""


def day_start(day: date) -> datetime:
    return datetime.combine(day, sample.DAY_START, tzinfo=ZoneInfo(sample.TIMEZONE))


def write_day(day: date, n: int, out: Path, *, files: int = 1, fmt: str = "parquet", seed: int = 0,
              row_group_size: int | None = None, scale_fleet: bool = False) -> list[Path]:
    """Write ``n`` requests of ``day`` in ``files`` files (in time order; Parquet
    row groups of ``row_group_size`` rows if given), and the day's node log
    (the sample fleet, scaled to ``n`` requests with ``scale_fleet``)."""
    if n < 1 or files < 1:
        raise ValueError("expected at least one request and one file")
    files = min(files, n)
    folder = out / "requests" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("part-*"):
        stale.unlink()
    written = []
    con = duckdb.connect()
    try:
        start = day_start(day)
        for k in range(files):
            first, last = n * k // files, n * (k + 1) // files
            path = folder / f"part-{k:04d}.{fmt}"
            options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
            if fmt == "parquet" and row_group_size:
                options += f", ROW_GROUP_SIZE {int(row_group_size)}"
            con.execute(f"COPY ({requests_sql(n, first, last, start, seed)}) TO '{path}' ({options})")
            written.append(path)
    finally:
        con.close()
    node_log = out / "node_log" / f"{day.isoformat()}.csv"
    node_log.parent.mkdir(parents=True, exist_ok=True)
    (scaled_node_log(day, n) if scale_fleet else sample.node_log(day)).write_csv(node_log)
    return [*written, node_log]


def fleet_share(n: int) -> float:
    """The share of the sample fleet that serves ``n`` requests a day."""
    return n / REFERENCE_REQUESTS


def scaled_node_log(day: date, n: int):
    """The sample fleet's node log with every count scaled to ``n`` requests
    (fractional nodes: a share of a node's time)."""
    import polars as pl

    frame = sample.node_log(day)
    return frame.with_columns((pl.col("nodes") * fleet_share(n)).round(6).alias("nodes"))

