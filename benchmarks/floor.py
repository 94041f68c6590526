"""The floor: one hand-written DuckDB SQL computing the day's hourly and
per-customer aggregates from the request files, nothing else (no checks, no
provenance, no warehouse). The fastest plain way we know to get the numbers.

    python benchmarks/floor.py DAY_START_EPOCH_US FILE [FILE ...]

Prints one JSON line: rows, seconds (the query alone, after imports).
"""

import json
import sys
import time

import duckdb

start_us, files = int(sys.argv[1]), sys.argv[2:]
begin = time.perf_counter()
con = duckdb.connect()
con.execute(
    f"""
    CREATE TABLE aggregates AS
    SELECT (epoch_us(ts) - {start_us}) // 3600000000 AS hour, customer_id, model, channel,
           count(*) AS requests, sum(cached_tokens) AS cache_hit_tokens,
           sum(input_tokens - cached_tokens) AS cache_miss_tokens, sum(output_tokens) AS output_tokens
    FROM read_parquet({files!r})
    GROUP BY GROUPING SETS ((hour, model, channel), (customer_id, model, channel))
    """
)
rows = con.execute("SELECT sum(requests) FILTER (WHERE hour IS NOT NULL) FROM aggregates").fetchone()[0]
print(json.dumps({"rows": int(rows), "seconds": time.perf_counter() - begin}))
