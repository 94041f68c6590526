"""Node-hours: by hour, as a step function over the day, its peak and coverage."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from openbooks.transforms.calendar import hours_between, in_hours, microseconds_between

# What a node in the node log is doing; ``serving``: prefill and decode on the
# same GPUs (most vLLM and SGLang deployments), so its node-hours have no
# prefill/decode split and the figures that need one are null ("not split").
ROLES = ("prefill", "decode", "idle", "training", "serving")
SERVING_ROLES = ("prefill", "decode", "idle", "serving")  # serving inference; training nodes are lent out
ATTRIBUTED_ROLES = ("prefill", "decode", "serving")  # working for the model they are logged with (model_economics)
UNALLOCATED = "unallocated"  # the model of a declared fleet's nodes the node log does not allocate


def clip_to_day(node_log: pl.DataFrame, day_start: datetime, day_end: datetime) -> pl.DataFrame:
    """Intervals cut to the day; intervals wholly outside it dropped."""
    return (
        node_log.with_columns(
            interval_start=pl.max_horizontal("interval_start", pl.lit(day_start).dt.cast_time_unit("us")),
            interval_end=pl.min_horizontal("interval_end", pl.lit(day_end).dt.cast_time_unit("us")),
        )
        .filter(pl.col("interval_end") > pl.col("interval_start"))
    )


def serving(node_log: pl.DataFrame) -> pl.DataFrame:
    """Rows of nodes serving inference (not lent to training)."""
    return node_log.filter(pl.col("role").is_in(SERVING_ROLES))


def node_hours_by_hour(node_log: pl.DataFrame, hours: pl.DataFrame) -> pl.DataFrame:
    """Node-hours per hour, model, role and GPU type: nodes × the part of each
    interval that falls in the hour."""
    return (
        node_log.join_where(
            hours.select("hour_start", "hour_end"),
            pl.col("interval_start") < pl.col("hour_end"),
            pl.col("interval_end") > pl.col("hour_start"),
        )
        .with_columns(
            node_hours=pl.col("nodes")
            * hours_between(
                pl.max_horizontal("interval_start", "hour_start"),
                pl.min_horizontal("interval_end", "hour_end"),
            )
        )
        .group_by("hour_start", "model", "role", "gpu_type")
        .agg(pl.col("node_hours").sum())
        .sort("hour_start", "model", "role", "gpu_type")
    )


def node_count_steps(node_log: pl.DataFrame) -> pl.DataFrame:
    """The node-count step function: ``segment_start``, ``segment_end``,
    ``nodes`` (sum over all rows covering the segment) and ``rows`` (how many
    rows cover it, at most; 0 is a gap in the log). One row per step, in time
    order."""
    bounds = (
        pl.concat([node_log.select(t=pl.col("interval_start")), node_log.select(t=pl.col("interval_end"))])
        .unique()
        .sort("t")
    )
    segments = bounds.select(segment_start=pl.col("t"), segment_end=pl.col("t").shift(-1)).drop_nulls()
    covering = segments.join_where(
        node_log.select("interval_start", "interval_end", "nodes"),
        pl.col("interval_start") <= pl.col("segment_start"),
        pl.col("interval_end") >= pl.col("segment_end"),
    )
    return (
        segments.join(
            covering.group_by("segment_start").agg(
                nodes=pl.col("nodes").sum(), rows=pl.len().cast(pl.Int64)
            ),
            on="segment_start",
            how="left",
        )
        .with_columns(pl.col("nodes").fill_null(0.0), pl.col("rows").fill_null(0))
        .sort("segment_start")
        .pipe(_merge_equal_steps)
    )


def _merge_equal_steps(segments: pl.DataFrame) -> pl.DataFrame:
    """Join neighbouring segments with the same node count into one step
    (a gap, ``rows`` 0, stays its own step)."""
    changed = (
        (pl.col("nodes") != pl.col("nodes").shift(1))
        | ((pl.col("rows") == 0) != (pl.col("rows").shift(1) == 0))
        | (pl.col("segment_start") != pl.col("segment_end").shift(1))
    ).fill_null(True)
    return (
        segments.with_columns(step=changed.cum_sum())
        .group_by("step", maintain_order=True)
        .agg(
            pl.col("segment_start").first(),
            pl.col("segment_end").last(),
            pl.col("nodes").first(),
            pl.col("rows").max(),
        )
        .drop("step")
    )


def coverage_by_hour(steps: pl.DataFrame, hours: pl.DataFrame) -> pl.DataFrame:
    """Hours of each hour covered by at least one node-log row (``covered_hours``).

    The covered stretches are summed in whole microseconds and only then
    converted to hours, so an hour covered in pieces (a node count changing
    at 01:00:12) is covered exactly as long as the hour, not 0.9999999999999999."""
    covered = (
        steps.filter(pl.col("rows") > 0)
        .join_where(
            hours.select("hour_start", "hour_end"),
            pl.col("segment_start") < pl.col("hour_end"),
            pl.col("segment_end") > pl.col("hour_start"),
        )
        .group_by("hour_start")
        .agg(
            covered_hours=in_hours(
                microseconds_between(
                    pl.max_horizontal("segment_start", "hour_start"),
                    pl.min_horizontal("segment_end", "hour_end"),
                ).sum()
            )
        )
    )
    return (
        hours.select("hour_start")
        .join(covered, on="hour_start", how="left")
        .with_columns(pl.col("covered_hours").fill_null(0.0))
    )


def nodes_from_gpus(node_log: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """A node log that may give ``gpus`` beside or instead of ``nodes``: where
    ``nodes`` is null it is ``gpus`` / GPUs per node of the row's GPU type (a
    job holding 2 of 8 GPUs is a quarter of a node, 2 GPU-hours an hour).
    Without a ``gpus`` column the log is returned as it is."""
    if "gpus" not in node_log.columns:
        return node_log
    per_node = hardware.select("gpu_type", __gpus_per_node=pl.col("gpus_per_node"))
    return (
        node_log.join(per_node, on="gpu_type", how="left", maintain_order="left")
        .with_columns(nodes=pl.coalesce(pl.col("nodes").cast(pl.Float64), pl.col("gpus") / pl.col("__gpus_per_node")))
        .drop("__gpus_per_node")
    )


def unallocated_idle(node_log: pl.DataFrame, fleet: pl.DataFrame, day_start: datetime,
                     day_end: datetime) -> pl.DataFrame:
    """Idle rows for a declared fleet (``gpu_type``, ``fleet_nodes``): over
    every stretch of the day, the fleet's nodes the node log does not
    allocate (any role) are idle (model ``unallocated``), so an hour with no
    allocation is idle capacity, not a gap."""
    dtype = node_log.schema["interval_start"]
    whole_day = pl.DataFrame({"interval_start": pl.Series([day_start], dtype=dtype),
                              "interval_end": pl.Series([day_end], dtype=dtype), "nodes": [0.0]})
    parts = []
    for gpu_type, fleet_nodes in fleet.select("gpu_type", "fleet_nodes").iter_rows():
        allocated = node_log.filter(pl.col("gpu_type") == gpu_type).select(whole_day.columns)
        steps = node_count_steps(pl.concat([allocated.cast(whole_day.schema), whole_day]))
        parts.append(steps.filter(pl.col("nodes") < fleet_nodes).select(
            interval_start=pl.col("segment_start"), interval_end=pl.col("segment_end"),
            model=pl.lit(UNALLOCATED), role=pl.lit("idle"), gpu_type=pl.lit(gpu_type),
            nodes=pl.lit(fleet_nodes, dtype=pl.Float64) - pl.col("nodes"),
        ))
    return pl.concat(parts)


def with_fleet(node_log: pl.DataFrame, fleet: pl.DataFrame | None, day_start: datetime,
               day_end: datetime) -> pl.DataFrame:
    """The node log and, for a declared fleet, its unallocated nodes as idle rows."""
    if fleet is None or fleet.is_empty():
        return node_log
    return pl.concat([node_log, unallocated_idle(node_log, fleet, day_start, day_end)], how="diagonal_relaxed")
