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
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from transforms.capacity import ROLES
from transforms.waterfall import ALL_MODELS

ROLE_COLORS = ("#1f77b4", "#ff7f0e", "#bbbbbb", "#2ca02c", "#9467bd")
WIDTH = 640
Y_EXTENT = 48  # pixels of y-axis labels
_MARK = re.compile(r'<(path|line|rect) aria-label="([^"]*)" role="graphics-symbol"([^>]*?)/>')


@dataclass(frozen=True)
class TimeAxis:
    """The business day as the x scale of every time chart.

    Positions are elapsed time from the day's start (drawn as naive times from
    the start's wall clock), so a 23- or 25-hour DST day keeps every hour
    apart; tick labels are the true wall-clock times in ``timezone``, and the
    date at midnight on a day that crosses it.
    """

    start: datetime  # UTC
    end: datetime
    timezone: str
    tick_hours: int = 2

    @property
    def anchor(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)

    def position(self, instant: datetime) -> datetime:
        return self.anchor + (instant - self.start)

    def positions(self, frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
        """UTC columns as chart positions (naive times, which charts read as-is)."""
        return frame.with_columns(
            (pl.lit(self.anchor) + (pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                                    - pl.lit(self.start.astimezone(UTC).replace(tzinfo=None)))).alias(c)
            for c in columns
        )

    def ticks(self) -> list[datetime]:
        count = int((self.end - self.start) / timedelta(hours=self.tick_hours))
        return [self.start + timedelta(hours=self.tick_hours * k) for k in range(count + 1)]

    def label(self, instant: datetime) -> str:
        zone = ZoneInfo(self.timezone)
        local = instant.astimezone(zone)
        overnight = self.start.astimezone(zone).date() != (self.end - timedelta(microseconds=1)).astimezone(zone).date()
        return f"{local:%b %d}" if overnight and (local.hour, local.minute) == (0, 0) else f"{local:%H:%M}"

    def x(self, field: str):
        import altair as alt

        ticks = self.ticks()
        values = [alt.DateTime(year=p.year, month=p.month, date=p.day, hours=p.hour, minutes=p.minute)
                  for p in map(self.position, ticks)]
        labels = ", ".join(f"'{self.position(t):%Y-%m-%d %H:%M}': '{self.label(t)}'" for t in ticks)
        axis = alt.Axis(values=values, labelExpr=f"{{{labels}}}[timeFormat(datum.value, '%Y-%m-%d %H:%M')]",
                        labelAngle=0)
        domain = [self.anchor.isoformat(), self.position(self.end).isoformat()]
        return alt.X(f"{field}:T", title=None, axis=axis, scale=alt.Scale(domain=domain))


def y_axis(field: str, title: str):
    """A y axis of fixed extent, so the time charts' plots line up one under another."""
    import altair as alt

    return alt.Y(field, title=title, axis=alt.Axis(minExtent=Y_EXTENT, maxExtent=Y_EXTENT))


def time_axis(daily: dict, timezone: str) -> TimeAxis:
    return TimeAxis(daily["day_start"].astimezone(UTC), daily["day_end"].astimezone(UTC), timezone)


def svg(chart) -> str:
    """The chart as SVG, each mark's description also as its hover ``<title>``."""
    import vl_convert

    # Altair's schema check is skipped: it costs more than drawing, and the
    # charts are built in code, so a test covers each one.
    drawn = vl_convert.vegalite_to_svg(chart.to_json(validate=False, indent=None))
    return _MARK.sub(lambda m: f'<{m[1]} aria-label="{m[2]}" role="graphics-symbol"{m[3]}>'
                               f"<title>{m[2]}</title></{m[1]}>", drawn)


def _clock(column: str, timezone: str) -> pl.Expr:
    """A UTC column's wall-clock time in ``timezone``, as hover titles show it."""
    return pl.col(column).dt.convert_time_zone(timezone).dt.strftime("%H:%M")


def _usd(column: str) -> pl.Expr:
    return pl.col(column).map_elements(lambda v: f"${v:,.0f}", return_dtype=pl.String)


def node_chart(steps: pl.DataFrame, axis: TimeAxis):
    """Serving nodes over the day: a step line, each step a hover target."""
    import altair as alt

    frame = axis.positions(steps.with_columns(
        label=pl.format("{} to {}: {} nodes", _clock("segment_start", axis.timezone),
                        _clock("segment_end", axis.timezone), pl.col("nodes").cast(pl.Int64)),
    ), "segment_start", "segment_end")
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

    frame = axis.positions(hourly.with_columns(clock=_clock("hour_start", axis.timezone)), "hour_start", "hour_end")
    middle = pl.col("hour_start") + (pl.col("hour_end") - pl.col("hour_start")) / 2
    series = [("GPU cost", "gpu_cost_usd", pl.col("hour_start"), middle),
              ("Theoretical income", "theoretical_revenue_usd", middle, pl.col("hour_end"))]
    bars = pl.concat([
        frame.select(series=pl.lit(name), usd=pl.col(column), start=start, end=end,
                     label=pl.format("{} {}: {}", pl.col("clock"), pl.lit(name),
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

    present = [r for r in ROLES if f"{r}_node_hours" in hourly.columns and (hourly[f"{r}_node_hours"].sum() or 0) > 0]
    present = present or [ROLES[0]]  # a day without node-hours: one empty series, not an empty chart
    frame = axis.positions(hourly.with_columns(clock=_clock("hour_start", axis.timezone)), "hour_start", "hour_end")
    below = [pl.lit(0.0), *(pl.col(f"{r}_node_hours") for r in present)]
    long = pl.concat([
        frame.select("hour_start", "hour_end", role=pl.lit(role),
                     low=pl.sum_horizontal(below[: i + 1]), high=pl.sum_horizontal(below[: i + 2]),
                     label=pl.format("{} {}: {} node-hours", pl.col("clock"), pl.lit(role),
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
