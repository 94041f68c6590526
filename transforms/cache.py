"""Cache economics: the revenue the cache discount gives up, and the prefill
capacity cache hits save."""

from __future__ import annotations

import polars as pl

from openbooks.transforms.cost import gpu_hours, rental_usd
from openbooks.transforms.efficiency import SECONDS_PER_HOUR, split


def cache_discount_usd() -> pl.Expr:
    """Revenue given up by the cache discount, on token rows carrying prices:
    cache-hit tokens × (cache-miss price − cache-hit price) / 10⁶."""
    return pl.col("cache_hit_tokens") * (pl.col("input_cache_miss") - pl.col("input_cache_hit")) / 1_000_000


def saved_prefill_node_hours(tokens_per_node_second: float) -> pl.Expr:
    """Prefill node-hours cache hits saved: hit tokens / (tokens a prefill node computes per second × 3,600)."""
    return pl.col("cache_hit_tokens") / (tokens_per_node_second * SECONDS_PER_HOUR)


def cache_columns(*, tokens_per_node_second: float, gpus_per_node: float, rental_usd_per_gpu_hour: float) -> list[pl.Expr]:
    """``cache_saved_node_hours``, ``cache_saved_gpu_hours`` (× GPUs per node)
    and ``cache_saved_usd`` (× rental per GPU-hour), over a frame with
    ``cache_hit_tokens`` (and ``serving_node_hours``: with serving node-hours
    the saving is not split out, null)."""
    node_hours = split(saved_prefill_node_hours(tokens_per_node_second))
    return [
        node_hours.alias("cache_saved_node_hours"),
        gpu_hours(node_hours, gpus_per_node).alias("cache_saved_gpu_hours"),
        rental_usd(node_hours, gpus_per_node, rental_usd_per_gpu_hour).alias("cache_saved_usd"),
    ]
