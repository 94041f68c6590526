"""The plausibility gate's figures: per hour and model, the tokens served
against the GPUs serving them, and the most those GPUs could believably serve.

- ``serving_gpu_seconds``: GPU-seconds of nodes working for a model (roles
  prefill, decode, serving) per hour, model and GPU type.
- ``hourly_throughput``: per hour and model, input and output tokens, the
  serving GPU-seconds, the measured tokens per GPU-second, the allowed ones
  (each GPU type's bound weighted by its GPU-seconds, or the model's own
  bound) and their ratio; ``status`` says what the row is: ``checked``,
  ``idle in serving`` (serving nodes, no tokens), ``no serving nodes``
  (tokens, no node serving that model that hour: an error) or ``outside the
  fleet`` (a model no node serves by design: shown, not checked).

Model names are the books' names: the sources' rows are renamed through the
config's alias map (``renamed_models``) before anything here runs.
"""

from __future__ import annotations

import polars as pl

from openbooks.transforms.calendar import microseconds_between

WORKING_ROLES = ("prefill", "decode", "serving")  # nodes working for the model they are logged with
CHECKED, IDLE, UNSERVED, OUTSIDE = "checked", "idle in serving", "no serving nodes", "outside the fleet"
BOUNDS_SCHEMA = {"gpu_type": pl.String, "model": pl.String, "input_tokens_per_gpu_second": pl.Float64,
                 "output_tokens_per_gpu_second": pl.Float64}


def renamed_models(frame: pl.DataFrame, aliases: dict[str, str]) -> pl.DataFrame:
    """``frame`` with its ``model`` column renamed through ``aliases`` (raw name → the books' name)."""
    if not aliases or "model" not in frame.columns:
        return frame
    return frame.with_columns(pl.col("model").replace(aliases))


def serving_gpu_seconds(node_log: pl.DataFrame, hours: pl.DataFrame, gpus_per_node: pl.DataFrame) -> pl.DataFrame:
    """GPU-seconds of working nodes per ``hour_start``, ``model`` and ``gpu_type``,
    with ``node_sources`` (the node-log files they come from)."""
    working = node_log.filter(pl.col("role").is_in(WORKING_ROLES))
    return (
        working.join_where(hours.select("hour_start", "hour_end"), pl.col("interval_start") < pl.col("hour_end"),
                           pl.col("interval_end") > pl.col("hour_start"))
        .join(gpus_per_node.select("gpu_type", "gpus_per_node"), on="gpu_type", how="left")
        .with_columns(gpu_seconds=pl.col("nodes") * pl.col("gpus_per_node") * microseconds_between(
            pl.max_horizontal("interval_start", "hour_start"), pl.min_horizontal("interval_end", "hour_end")) / 1e6)
        .group_by("hour_start", "model", "gpu_type")
        .agg(pl.col("gpu_seconds").sum(), node_sources=files(working))
    )


def files(frame: pl.DataFrame) -> pl.Expr:
    """The files a group's rows come from (none when the frame does not say)."""
    if "source_file" not in frame.columns:
        return pl.lit(None, pl.String).drop_nulls()
    return pl.col("source_file").drop_nulls().unique().sort()


def tokens_by_hour(token_counts: pl.DataFrame) -> pl.DataFrame:
    """Input and output tokens per ``hour_start`` and ``model``, with ``token_sources``."""
    return token_counts.group_by("hour_start", "model").agg(
        input_tokens=(pl.col("cache_hit_tokens") + pl.col("cache_miss_tokens")).sum().cast(pl.Float64),
        output_tokens=pl.col("output_tokens").sum().cast(pl.Float64),
        token_sources=files(token_counts),
    )


def allowed_tokens(gpu_seconds: pl.DataFrame, bounds: pl.DataFrame) -> pl.DataFrame:
    """Per hour and model: serving GPU-seconds and the tokens they could
    believably serve (a model's own bound, else its GPU type's, else the
    default: ``bounds`` rows with ``model`` null and ``gpu_type`` null)."""
    by_model = bounds.filter(pl.col("model").is_not_null()).drop("gpu_type")
    by_type = bounds.filter(pl.col("model").is_null() & pl.col("gpu_type").is_not_null()).drop("model")
    default = bounds.filter(pl.col("model").is_null() & pl.col("gpu_type").is_null()).row(0, named=True)
    rate = ("input_tokens_per_gpu_second", "output_tokens_per_gpu_second")
    joined = (
        gpu_seconds.join(by_model, on="model", how="left")
        .join(by_type, on="gpu_type", how="left", suffix="_type")
        .with_columns(*[pl.coalesce(c, f"{c}_type", pl.lit(default[c])).alias(c) for c in rate])
    )
    return joined.group_by("hour_start", "model").agg(
        serving_gpu_seconds=pl.col("gpu_seconds").sum(),
        allowed_input_tokens=(pl.col("gpu_seconds") * pl.col(rate[0])).sum(),
        allowed_output_tokens=(pl.col("gpu_seconds") * pl.col(rate[1])).sum(),
        node_sources=pl.col("node_sources").explode().drop_nulls().unique().sort(),
    )


def per_gpu_second(tokens: str) -> pl.Expr:
    """Tokens per serving GPU-second (null without serving GPU-seconds)."""
    return pl.when(pl.col("serving_gpu_seconds") > 0).then(pl.col(tokens) / pl.col("serving_gpu_seconds"))


def ratio(measured: str, allowed: str) -> pl.Expr:
    """Measured over allowed tokens, on checked rows (above 1: not believable)."""
    return pl.when(pl.col("status") == CHECKED).then(pl.col(measured) / pl.col(allowed))


def status(outside_fleet: list[str]) -> pl.Expr:
    has_tokens = (pl.col("input_tokens") + pl.col("output_tokens")) > 0
    serving = pl.col("serving_gpu_seconds") > 0
    return (
        pl.when(pl.col("model").is_in(outside_fleet)).then(pl.lit(OUTSIDE))
        .when(has_tokens & serving).then(pl.lit(CHECKED))
        .when(has_tokens).then(pl.lit(UNSERVED))
        .otherwise(pl.lit(IDLE))
    )


def hourly_throughput(node_log: pl.DataFrame, token_counts: pl.DataFrame, hours: pl.DataFrame,
                      gpus_per_node: pl.DataFrame, bounds: pl.DataFrame, outside_fleet: list[str]) -> pl.DataFrame:
    """The gate's frame: one row per hour and model with tokens or serving
    nodes (see the module doc); ``token_counts``: the day's rows, ``node_log``
    in nodes and clipped to the day."""
    capacity = allowed_tokens(serving_gpu_seconds(node_log, hours, gpus_per_node), bounds)
    tokens = tokens_by_hour(token_counts)
    zero = ("input_tokens", "output_tokens", "serving_gpu_seconds", "allowed_input_tokens", "allowed_output_tokens")
    return (
        capacity.join(tokens, on=["hour_start", "model"], how="full", coalesce=True)
        .with_columns(*[pl.col(c).fill_null(0.0) for c in zero],
                      *[pl.col(c).fill_null([]) for c in ("node_sources", "token_sources")])
        .with_columns(status=status(outside_fleet))
        .with_columns(
            input_per_gpu_second=per_gpu_second("input_tokens"),
            output_per_gpu_second=per_gpu_second("output_tokens"),
            allowed_input_per_gpu_second=per_gpu_second("allowed_input_tokens"),
            allowed_output_per_gpu_second=per_gpu_second("allowed_output_tokens"),
            input_ratio=ratio("input_tokens", "allowed_input_tokens"),
            output_ratio=ratio("output_tokens", "allowed_output_tokens"),
            unserved_tokens=pl.when(pl.col("status") == UNSERVED)
            .then(pl.col("input_tokens") + pl.col("output_tokens")).otherwise(0.0),
        )
        .sort("hour_start", "model")
    )
