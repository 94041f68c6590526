"""Row flags for the input expectations: each flag is True when the row is fine.

The expectation suites in ``expectations/`` then require every flag to hold, so
a bad row fails validation with its file and line rather than skewing a figure.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

NODE_KEY = ("model", "role", "gpu_type")


def flag_node_rows(node_log: pl.DataFrame, day_start: datetime, day_end: datetime, *,
                   replicas_summed: bool = False) -> pl.DataFrame:
    """Add ``within_day`` (the interval overlaps the day), ``positive_length``
    (end after start) and ``no_overlap`` (does not overlap an earlier interval
    of the same model, role and GPU type). With ``replicas_summed`` (the source
    says its rows are replicas of one model) overlapping rows are replicas,
    summed in the node-hours, and ``no_overlap`` holds for every row."""
    previous_end = (
        pl.col("interval_end")
        .cum_max()
        .shift(1)
        .over(NODE_KEY, order_by=["interval_start", "interval_end"])
    )
    return node_log.with_columns(
        within_day=(pl.col("interval_end") > day_start) & (pl.col("interval_start") < day_end),
        positive_length=pl.col("interval_end") > pl.col("interval_start"),
        no_overlap=pl.lit(True) if replicas_summed
        else (previous_end.is_null() | (pl.col("interval_start") >= previous_end)).fill_null(True),
    )


def flag_token_rows(tokens: pl.DataFrame, day_start: datetime, day_end: datetime) -> pl.DataFrame:
    """Add ``within_day`` and ``on_hour_grid`` (``hour_start`` is a whole number
    of hours after the start of the day)."""
    offset_us = (pl.col("hour_start") - pl.lit(day_start)).dt.total_microseconds()
    return tokens.with_columns(
        within_day=(pl.col("hour_start") >= day_start) & (pl.col("hour_start") < day_end),
        on_hour_grid=(offset_us % 3_600_000_000) == 0,
    )


def coverage_gaps(steps: pl.DataFrame, day_start: datetime, day_end: datetime) -> pl.DataFrame:
    """The stretches of the day no node-log row covers (``gap_start``,
    ``gap_end``), from the node-count steps (``rows`` 0 is a gap; a day whose
    log starts late or ends early has a gap at that end too)."""
    dtype = steps.schema["segment_start"]
    covered = steps.filter(pl.col("rows") > 0).select("segment_start", "segment_end").sort("segment_start")
    edge = {"segment_start": pl.Series([day_start], dtype=dtype), "segment_end": pl.Series([day_start], dtype=dtype)}
    end = {"segment_start": pl.Series([day_end], dtype=dtype), "segment_end": pl.Series([day_end], dtype=dtype)}
    bounds = pl.concat([pl.DataFrame(edge), covered, pl.DataFrame(end)])
    return bounds.select(
        gap_start=pl.col("segment_end").cum_max().shift(1), gap_end=pl.col("segment_start")
    ).filter(pl.col("gap_end") > pl.col("gap_start"))
