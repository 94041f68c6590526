"""The report's charts, drawn from our own tables with Altair and rendered to
inline SVG (vl-convert), so a page needs no network to open.

Every time chart shares one x scale, the business day from its start to its
end in the business timezone (named in each title); a day that crosses
midnight shows the date at the midnight tick. Each bar and step carries a
hover title (an SVG ``<title>``); a series absent all day has no legend entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from transforms.waterfall import ALL_MODELS

ROLES = ("prefill", "decode", "idle", "training")
ROLE_COLORS = ("#1f77b4", "#ff7f0e", "#bbbbbb", "#2ca02c")
WIDTH = 640
Y_EXTENT = 48  # pixels of y-axis labels
_MARK = re.compile(r'<(path|line|rect) aria-label="([^"]*)" role="graphics-symbol"([^>]*?)/>')


@dataclass(frozen=True)
class TimeAxis:
    """The business day as naive local times, and its timezone."""

    start: datetime
    end: datetime
    timezone: str

    @property
    def overnight(self) -> bool:
        return self.start.date() != (self.end - timedelta(microseconds=1)).date()

    def axis(self):
        import altair as alt

        label = "timeFormat(datum.value, '%H:%M')"
        if self.overnight:
            label = f"hours(datum.value) == 0 ? timeFormat(datum.value, '%b %d') : {label}"
        return alt.Axis(labelExpr=label, tickCount=12, labelAngle=0)

    def x(self, field: str):
        import altair as alt

        domain = [self.start.isoformat(), self.end.isoformat()]
        return alt.X(f"{field}:T", title=None, axis=self.axis(), scale=alt.Scale(domain=domain))


def y_axis(field: str, title: str):
    """A y axis of fixed extent, so the time charts' plots line up one under another."""
    import altair as alt

    return alt.Y(field, title=title, axis=alt.Axis(minExtent=Y_EXTENT, maxExtent=Y_EXTENT))


def time_axis(daily: dict, timezone: str) -> TimeAxis:
    def local(instant: datetime) -> datetime:
        return pl.Series([instant]).dt.convert_time_zone(timezone).dt.replace_time_zone(None)[0]

    return TimeAxis(local(daily["day_start"]), local(daily["day_end"]), timezone)


def svg(chart) -> str:
    """The chart as SVG, each mark's description also as its hover ``<title>``."""
    import vl_convert

    drawn = vl_convert.vegalite_to_svg(chart.to_json())
    return _MARK.sub(lambda m: f'<{m[1]} aria-label="{m[2]}" role="graphics-symbol"{m[3]}>'
                               f"<title>{m[2]}</title></{m[1]}>", drawn)


def _local(frame: pl.DataFrame, *columns: str, timezone: str) -> pl.DataFrame:
    """UTC columns as naive local time (charts read naive times as-is)."""
    return frame.with_columns(pl.col(c).dt.convert_time_zone(timezone).dt.replace_time_zone(None) for c in columns)


def _usd(column: str) -> pl.Expr:
    return pl.col(column).map_elements(lambda v: f"${v:,.0f}", return_dtype=pl.String)


def node_chart(steps: pl.DataFrame, axis: TimeAxis):
    """Serving nodes over the day: a step line, each step a hover target."""
    import altair as alt

    frame = _local(steps, "segment_start", "segment_end", timezone=axis.timezone).with_columns(
        label=pl.format("{} to {}: {} nodes", pl.col("segment_start").dt.strftime("%H:%M"),
                        pl.col("segment_end").dt.strftime("%H:%M"), pl.col("nodes").cast(pl.Int64)),
    )
    last = frame.tail(1).select(segment_start=pl.col("segment_end"), nodes=pl.col("nodes"))
    points = pl.concat([frame.select("segment_start", "nodes"), last]).rename({"segment_start": "time"})
    y = y_axis("nodes:Q", "nodes")
    line = alt.Chart(points.to_pandas()).mark_line(interpolate="step-after").encode(
        x=axis.x("time"), y=y, description=alt.value("serving nodes"))
    targets = alt.Chart(frame.to_pandas()).mark_rule(strokeWidth=8, opacity=0).encode(
        x=axis.x("segment_start"), x2="segment_end:T", y=y, description="label:N", tooltip="label:N")
    return alt.layer(line, targets, title=f"Serving nodes ({axis.timezone})").properties(width=WIDTH, height=220)


def cost_income_chart(hourly: pl.DataFrame, axis: TimeAxis):
    """Hourly GPU cost against theoretical income, side by side within each hour."""
    import altair as alt

    frame = _local(hourly, "hour_start", "hour_end", timezone=axis.timezone)
    middle = pl.col("hour_start") + (pl.col("hour_end") - pl.col("hour_start")) / 2
    series = [("GPU cost", "gpu_cost_usd", pl.col("hour_start"), middle),
              ("Theoretical income", "theoretical_revenue_usd", middle, pl.col("hour_end"))]
    bars = pl.concat([
        frame.select(series=pl.lit(name), usd=pl.col(column), start=start, end=end,
                     label=pl.format("{} {}: {}", pl.col("hour_start").dt.strftime("%H:%M"), pl.lit(name),
                                     _usd(column)))
        for name, column, start, end in series
    ])
    return (
        alt.Chart(bars.to_pandas(), title=f"Hourly GPU cost and theoretical income, USD ({axis.timezone})")
        .mark_rect(xOffset=1, x2Offset=-1)
        .encode(
            x=axis.x("start"), x2="end:T", y=y_axis("usd:Q", "USD"), y2=alt.datum(0),
            color=alt.Color("series:N", title=None, scale=alt.Scale(domain=[s[0] for s in series],
                                                                    range=["#d62728", "#1f77b4"])),
            description="label:N", tooltip="label:N",
        )
        .properties(width=WIDTH, height=240)
    )


def capacity_chart(hourly: pl.DataFrame, axis: TimeAxis):
    """Node-hours per hour by role, stacked; roles absent all day left out."""
    import altair as alt

    present = [r for r in ROLES if (hourly[f"{r}_node_hours"].sum() or 0) > 0]
    frame = _local(hourly, "hour_start", "hour_end", timezone=axis.timezone)
    below = [pl.lit(0.0), *(pl.col(f"{r}_node_hours") for r in present)]
    long = pl.concat([
        frame.select("hour_start", "hour_end", role=pl.lit(role),
                     low=pl.sum_horizontal(below[: i + 1]), high=pl.sum_horizontal(below[: i + 2]),
                     label=pl.format("{} {}: {} node-hours", pl.col("hour_start").dt.strftime("%H:%M"), pl.lit(role),
                                     pl.col(f"{role}_node_hours").round(2)))
        for i, role in enumerate(present)
    ])
    colors = [ROLE_COLORS[ROLES.index(r)] for r in present]
    return (
        alt.Chart(long.to_pandas(), title=f"Capacity by role, node-hours per hour ({axis.timezone})")
        .mark_rect(xOffset=1, x2Offset=-1)
        .encode(
            x=axis.x("hour_start"), x2="hour_end:T", y=y_axis("low:Q", "node-hours"), y2="high:Q",
            color=alt.Color("role:N", title=None, scale=alt.Scale(domain=present, range=colors)),
            description="label:N", tooltip="label:N",
        )
        .properties(width=WIDTH, height=220)
    )


def waterfall_chart(waterfall: pl.DataFrame):
    """Theoretical to billed revenue, every model together, each bar's amount on it."""
    import altair as alt

    frame = waterfall.filter(pl.col("model") == ALL_MODELS).with_columns(
        low=pl.min_horizontal("start_usd", "end_usd"), high=pl.max_horizontal("start_usd", "end_usd"),
        amount=pl.col("amount_usd").map_elements(_signed_usd, return_dtype=pl.String),
    ).with_columns(label=pl.format("{}: {}", pl.col("step"), pl.col("amount")))
    x = alt.X("step:N", sort=alt.SortField("step_order"), title=None, axis=alt.Axis(labelAngle=0))
    base = alt.Chart(frame.to_pandas())
    bars = base.mark_bar().encode(
        x=x, y=alt.Y("low:Q", title="USD"), y2="high:Q",
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["total", "change"], range=["#1f77b4", "#d62728"])),
        description="label:N", tooltip="label:N",
    )
    values = base.mark_text(dy=-6, fontSize=11).encode(x=x, y="high:Q", text="amount:N")
    return alt.layer(bars, values, title="Revenue waterfall: theoretical to billed (USD)").properties(
        width=WIDTH, height=240)


def _signed_usd(value: float) -> str:
    return f"{'-' if value < 0 else ''}${abs(value):,.0f}"
