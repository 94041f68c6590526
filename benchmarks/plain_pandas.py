"""A plain pandas script computing the same hourly and per-customer
aggregates as the floor: read the files, group, sum.

    python benchmarks/plain_pandas.py DAY_START_EPOCH_US FILE [FILE ...]

Prints one JSON line: rows, seconds (after imports).
"""

import json
import sys
import time

import pandas as pd

start_us, files = int(sys.argv[1]), sys.argv[2:]
begin = time.perf_counter()
columns = ["ts", "model", "channel", "customer_id", "input_tokens", "cached_tokens", "output_tokens"]
df = pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)
start = pd.Timestamp(start_us, unit="us", tz="UTC")
df["hour"] = (df["ts"] - start) // pd.Timedelta(hours=1)
df["cache_miss_tokens"] = df["input_tokens"] - df["cached_tokens"]
sums = {"requests": ("ts", "size"), "cache_hit_tokens": ("cached_tokens", "sum"),
        "cache_miss_tokens": ("cache_miss_tokens", "sum"), "output_tokens": ("output_tokens", "sum")}
hourly = df.groupby(["hour", "model", "channel"]).agg(**sums).reset_index()
customers = df.groupby(["customer_id", "model", "channel"]).agg(**sums).reset_index()
print(json.dumps({"rows": int(hourly["requests"].sum()), "seconds": time.perf_counter() - begin}))
