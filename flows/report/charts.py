"""The report's charts, drawn from our own tables with Altair and rendered to
inline SVG (vl-convert), so a page needs no network to open."""

from __future__ import annotations

import polars as pl

from transforms.waterfall import ALL_MODELS

ROLES = ["prefill_node_hours", "decode_node_hours", "idle_node_hours", "training_node_hours"]


def svg(chart) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_json())


def _local(frame: pl.DataFrame, column: str, timezone: str) -> pl.DataFrame:
    """A UTC column as naive local time (charts read naive times as-is)."""
    return frame.with_columns(pl.col(column).dt.convert_time_zone(timezone).dt.replace_time_zone(None))


def node_chart(steps: pl.DataFrame, timezone: str):
    """Serving nodes over the day, a step line."""
    import altair as alt

    frame = _local(_local(steps, "segment_start", timezone), "segment_end", timezone)
    last = frame.tail(1).select(segment_start=pl.col("segment_end"), nodes=pl.col("nodes"))
    points = pl.concat([frame.select("segment_start", "nodes"), last]).rename({"segment_start": "time"})
    return (
        alt.Chart(points.to_pandas(), title=f"Serving nodes ({timezone})")
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("time:T", title=None, axis=alt.Axis(format="%H:%M")),
            y=alt.Y("nodes:Q", title="nodes", scale=alt.Scale(zero=True)),
        )
        .properties(width=640, height=220)
    )


def cost_income_chart(hourly: pl.DataFrame, timezone: str):
    """Hourly GPU cost against theoretical income, bars side by side."""
    import altair as alt

    frame = _local(hourly, "hour_start", timezone).with_columns(
        hour=pl.col("hour_start").dt.strftime("%H:%M"), order=pl.int_range(pl.len())
    )
    long = frame.select("hour", "order", "gpu_cost_usd", "theoretical_revenue_usd").unpivot(
        index=["hour", "order"], variable_name="series", value_name="usd"
    ).with_columns(
        pl.col("series").replace({"gpu_cost_usd": "GPU cost", "theoretical_revenue_usd": "Theoretical income"})
    )
    return (
        alt.Chart(long.to_pandas(), title="Hourly cost and theoretical income (USD)")
        .mark_bar()
        .encode(
            x=alt.X("hour:O", sort=alt.SortField("order"), title=None),
            xOffset="series:N",
            y=alt.Y("usd:Q", title="USD"),
            color=alt.Color("series:N", title=None, scale=alt.Scale(range=["#d62728", "#1f77b4"])),
        )
        .properties(width=640, height=240)
    )


def waterfall_chart(waterfall: pl.DataFrame):
    """Theoretical to billed revenue, every model together."""
    import altair as alt

    frame = waterfall.filter(pl.col("model") == ALL_MODELS).with_columns(
        low=pl.min_horizontal("start_usd", "end_usd"), high=pl.max_horizontal("start_usd", "end_usd")
    )
    return (
        alt.Chart(frame.to_pandas(), title="Revenue waterfall: theoretical to billed (USD)")
        .mark_bar()
        .encode(
            x=alt.X("step:N", sort=alt.SortField("step_order"), title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("low:Q", title="USD"),
            y2="high:Q",
            color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["total", "change"],
                                                                    range=["#1f77b4", "#d62728"])),
            tooltip=["step", "amount_usd"],
        )
        .properties(width=640, height=240)
    )


def capacity_chart(hourly: pl.DataFrame, timezone: str):
    """Node-hours per hour by role, stacked."""
    import altair as alt

    frame = hourly.with_columns(
        hour=pl.col("hour_start").dt.convert_time_zone(timezone).dt.strftime("%H:%M"), order=pl.int_range(pl.len())
    )
    long = frame.select("hour", "order", *ROLES).unpivot(
        index=["hour", "order"], variable_name="role", value_name="node_hours"
    ).with_columns(
        pl.col("role").str.replace("_node_hours", ""),
        stack=pl.col("role").replace_strict({r: i for i, r in enumerate(ROLES)}, return_dtype=pl.Int64),
    )
    return (
        alt.Chart(long.to_pandas(), title=f"Capacity by role, node-hours per hour ({timezone})")
        .mark_bar()
        .encode(
            x=alt.X("hour:O", sort=alt.SortField("order"), title=None),
            y=alt.Y("node_hours:Q", title="node-hours", stack="zero"),
            color=alt.Color("role:N", title=None, sort=["prefill", "decode", "idle", "training"]),
            order=alt.Order("stack:Q"),
        )
        .properties(width=640, height=220)
    )
