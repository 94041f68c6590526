"""The report's charts, built from our own tables with Altair as Vega-Lite
specs that the browser draws with the site's own Vega bundle (``assets``:
interactive, nothing fetched off the machine). A page's chart is a
``<figure class="chart">``: its spec, and in a ``<noscript>`` what the page
shows without script (``figure_html``): on the index and the period
statements the chart as SVG (rendered here with vl-convert: pages that are
forwarded and printed), on a day's page the chart's figures as text (a
backfill writes hundreds of day pages, and each figure is also in the page's
tables; drawing their SVGs was most of a year's backfill).

Every time chart shares one x scale, the business day from its start to its
end in the business timezone (named in each title); a day that crosses
midnight shows the date at the midnight tick. Each bar and step carries a
hover title (an SVG ``<title>``); a series absent all day has no legend entry.

Charts are built from typed channel objects and inline values (``values``),
with Altair's debug mode (a schema check of every object as it is made) off
while they are built (``built``): Altair then builds the spec without
parsing shorthand strings, converting a pandas frame or checking it, which
cost more than drawing the chart. The charts are built in code, and a test
covers each one.
"""

from __future__ import annotations

import json
import re
import textwrap
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from collections.abc import Callable, Iterator
from functools import lru_cache, wraps
from zoneinfo import ZoneInfo

import polars as pl

from openbooks.flows.report.palette import ROLE_COLOURS, WATERFALL, colour
from openbooks.transforms.capacity import ROLES
from openbooks.transforms.waterfall import ALL_MODELS

ROLE_COLORS = tuple(ROLE_COLOURS[role] for role in ROLES)
WIDTH = 640
Y_EXTENT = 48  # pixels of y-axis labels
_MARK = re.compile(r'<(path|line|rect) aria-label="([^"]*)" role="graphics-symbol"([^>]*?)/>')


def built(build: Callable) -> Callable:
    """``build`` run with Altair's debug mode off (see the module's docstring)."""

    @wraps(build)
    def without_checks(*args, **kwargs):
        from altair.utils.schemapi import debug_mode

        with debug_mode(False):
            return build(*args, **kwargs)

    return without_checks


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

        return alt.X(field, type="temporal", title=None, axis=_x_axis(self), scale=_x_scale(self))


@lru_cache(maxsize=64)
@built
def _x_axis(axis: TimeAxis):
    """The time axis's ticks and labels (the same for every chart of a day)."""
    import altair as alt

    ticks = axis.ticks()
    values = [alt.DateTime(year=p.year, month=p.month, date=p.day, hours=p.hour, minutes=p.minute)
              for p in map(axis.position, ticks)]
    labels = ", ".join(f"'{axis.position(t):%Y-%m-%d %H:%M}': '{axis.label(t)}'" for t in ticks)
    return alt.Axis(values=values, labelExpr=f"{{{labels}}}[timeFormat(datum.value, '%Y-%m-%d %H:%M')]",
                    labelAngle=0)


@lru_cache(maxsize=64)
@built
def _x_scale(axis: TimeAxis):
    import altair as alt

    return alt.Scale(domain=[axis.anchor.isoformat(), axis.position(axis.end).isoformat()])


def values(frame: pl.DataFrame) -> list[dict]:
    """A frame as a chart's inline data: one record per row, times as naive
    ISO 8601 text (the chart positions), as Altair writes a pandas frame."""
    text = frame.with_columns(
        pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S") for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    )
    return text.to_dicts()


@dataclass(frozen=True)
class Drawn:
    """A chart whose data are named (``data-0``, ``data-1``…) and kept beside
    it, put into its spec only once the spec is built: Altair copies a chart,
    data and all, at every step of building it and of writing its spec."""

    chart: Any  # the Altair chart
    datasets: dict[str, list[dict]]

    @property
    def layer(self) -> list:
        return self.chart.layer

    @built
    def to_dict(self) -> dict:
        spec = self.chart.to_dict(validate=False)
        spec["datasets"] = {**spec.get("datasets", {}), **self.datasets}
        return spec


def fed(chart, *frames: pl.DataFrame) -> Drawn:
    """``chart`` given its data last, a frame for it (or one for each of its
    layers; layers given the same frame share one dataset)."""
    import altair as alt

    targets = chart.layer if len(frames) > 1 else [chart]
    names: dict[int, str] = {}  # id(frame) -> its dataset's name
    datasets = {}
    for target, frame in zip(targets, frames, strict=True):
        if id(frame) not in names:
            names[id(frame)] = f"data-{len(names)}"
            datasets[names[id(frame)]] = values(frame)
        target.data = alt.NamedData(name=names[id(frame)])
    return Drawn(chart, datasets)


def field(name: str, kind: str, channel: str = "Description"):
    """An encoding of field ``name`` of type ``kind`` on ``channel`` (an Altair channel class name)."""
    import altair as alt

    return getattr(alt, channel)(name, type=kind)


def y_axis(field: str, title: str):
    """A y axis of fixed extent, so the time charts' plots line up one under another."""
    import altair as alt

    return alt.Y(field, type="quantitative", title=title, axis=alt.Axis(minExtent=Y_EXTENT, maxExtent=Y_EXTENT))


def time_axis(daily: dict, timezone: str) -> TimeAxis:
    return TimeAxis(daily["day_start"].astimezone(UTC), daily["day_end"].astimezone(UTC), timezone)


def spec_json(chart: Drawn) -> str:
    return json.dumps(chart.to_dict(), separators=(",", ":"))


# Where ``figures`` draws: set by ``drawing_on`` to a range's worker processes.
_WORKERS: ContextVar = ContextVar("openbooks_chart_workers", default=None)


@contextmanager
def drawing_on(workers) -> Iterator[None]:
    """Within the block, ``figures`` builds and draws its charts on ``workers``
    (``flows.executor``), several at once, and this process need not
    import Altair or start vl-convert."""
    token = _WORKERS.set(workers)
    try:
        yield
    finally:
        _WORKERS.reset(token)


def concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """What each call returns, in order. Calls that draw charts (``figures``) run
    at once when the charts are drawn on workers, so that all their charts
    queue together; else one after another."""
    if _WORKERS.get() is None or len(calls) < 2:
        return [call() for call in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="openbooks-charts") as pool:
        running = [pool.submit(copy_context().run, call) for call in calls]
        return [future.result() for future in running]


def drawn(build: Callable, args: tuple, static: bool = True) -> str:
    """The figure of the chart ``build(*args)`` makes, with its SVG for pages
    without script when ``static`` (a job a worker process can run)."""
    return figure_html(build(*args), static)


def figures(builds: list[tuple[Callable, tuple]], static: bool = True) -> list[str]:
    """The figures of the charts each ``(build, args)`` makes, in order: on the
    workers of ``drawing_on`` when set, else here."""
    workers = _WORKERS.get()
    if workers is None:
        return [drawn(build, args, static) for build, args in builds]
    return [job.result() for job in [workers.submit(drawn, build, args, static) for build, args in builds]]


TITLE_LINE = 40  # characters of a chart title's line: 13 px bold fits ~45 in a phone's 400 px
# The browser's version of a spec: as wide as the page (text kept at its size
# on a phone), legends below the plot, no chart text under 11 px.
BROWSER_CONFIG = {"font": "system-ui, sans-serif", "axis": {"labelFontSize": 11, "titleFontSize": 11},
                  "legend": {"orient": "bottom", "columns": 2, "labelFontSize": 11},
                  "title": {"fontSize": 13, "limit": 0, "anchor": "start", "frame": "bounds"},
                  "background": None}


def browser_spec(chart: Drawn) -> dict:
    """The chart's spec as the page gives it to vega-embed: the container's width."""
    spec = chart.to_dict()
    spec.pop("$schema", None)  # a URL nothing fetches: vega-embed is told the mode
    spec["width"] = "container"
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    spec["config"] = {**spec.get("config", {}), **BROWSER_CONFIG}
    layer_titles = [layer.pop("title") for layer in spec.get("layer", []) if layer.get("title")]
    spec["title"] = spec.get("title") or (layer_titles[0] if layer_titles else None)  # the chart's, once
    if not spec["title"]:
        del spec["title"]
    if spec.get("title"):
        title = spec["title"] if isinstance(spec["title"], dict) else {"text": spec["title"]}
        spec["title"] = {**title, "text": textwrap.wrap(str(title["text"]), TITLE_LINE)}  # a phone's width
    return spec


def labels(chart: Drawn) -> list[str]:
    """The chart's figures as text: each mark's hover label, once, in order."""
    return list(dict.fromkeys(row["label"] for rows in chart.datasets.values() for row in rows if row.get("label")))


def title_of(spec: dict) -> str:
    title = spec.get("title", "")
    text = title.get("text", "") if isinstance(title, dict) else title
    return " ".join(text) if isinstance(text, list) else str(text)


def figure_html(chart: Drawn, static: bool) -> str:
    """The chart as a page shows it: a place vega-embed draws it in, its spec,
    and in a ``<noscript>`` its SVG (``static``) or its figures as text."""
    import html

    spec = browser_spec(chart)
    text = json.dumps(spec, separators=(",", ":")).replace("<", "\\u003c")  # no "</script>" inside
    if static:
        fallback = f'<div class="static">{svg(chart)}</div>'
    else:
        items = "".join(f"<li>{html.escape(label)}</li>" for label in labels(chart))
        fallback = (f'<details class="figures"><summary>{html.escape(title_of(spec))}: the figures '
                    f"(the chart is drawn with script)</summary><ul>{items}</ul></details>")
    return (f'<figure class="chart"><div class="vega"></div><script type="application/json" class="spec">'
            f"{text}</script><noscript>{fallback}</noscript></figure>")


def svg(chart) -> str:
    """The chart as SVG, each mark's description also as its hover ``<title>``."""
    import vl_convert

    # Altair's schema check is skipped: it costs more than drawing, and the
    # charts are built in code, so a test covers each one.
    drawn = vl_convert.vegalite_to_svg(spec_json(chart))
    return _MARK.sub(lambda m: f'<{m[1]} aria-label="{m[2]}" role="graphics-symbol"{m[3]}>'
                               f"<title>{m[2]}</title></{m[1]}>", drawn)


def _clock(column: str, timezone: str) -> pl.Expr:
    """A UTC column's wall-clock time in ``timezone``, as hover titles show it."""
    return pl.col(column).dt.convert_time_zone(timezone).dt.strftime("%H:%M")


def _usd(column: str) -> pl.Expr:
    return pl.col(column).map_elements(_signed_usd, return_dtype=pl.String)


@built
def node_chart(steps: pl.DataFrame, axis: TimeAxis):
    """Serving nodes over the day: a step line, each step a hover target."""
    import altair as alt

    frame = axis.positions(steps.with_columns(
        label=pl.format("{} to {}: {} nodes", _clock("segment_start", axis.timezone),
                        _clock("segment_end", axis.timezone), pl.col("nodes").cast(pl.Int64)),
    ), "segment_start", "segment_end")
    last = frame.tail(1).select(segment_start=pl.col("segment_end"), nodes=pl.col("nodes"))
    points = pl.concat([frame.select("segment_start", "nodes"), last]).rename({"segment_start": "time"})
    y = y_axis("nodes", "nodes")
    line = alt.Chart().mark_line(interpolate="step-after").encode(
        x=axis.x("time"), y=y, description=alt.DescriptionValue("serving nodes"))
    targets = alt.Chart().mark_rule(
        strokeWidth=8, opacity=0).encode(
        x=axis.x("segment_start"), x2=alt.X2("segment_end"), y=y, description=field("label", "nominal"),
        tooltip=field("label", "nominal", "Tooltip"))
    chart = alt.layer(line, targets, title=f"Serving nodes ({axis.timezone})").properties(width=WIDTH, height=220)
    return fed(chart, points, frame.select("segment_start", "segment_end", "nodes", "label"))


@built
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
    return fed(
        alt.Chart(title=f"Hourly GPU cost and theoretical income, USD ({axis.timezone})")
        .mark_rect(xOffset=1, x2Offset=-1)
        .encode(
            x=axis.x("start"), x2=alt.X2("end"), y=y_axis("usd", "USD"), y2=alt.Y2Datum(0),
            color=alt.Color("series", type="nominal", title=None,
                            scale=alt.Scale(domain=[s[0] for s in series], range=[colour("gpu_cost_usd"), colour("theoretical_revenue_usd")])),
            description=field("label", "nominal"), tooltip=field("label", "nominal", "Tooltip"),
        )
        .properties(width=WIDTH, height=240),
        bars,
    )


@built
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
    return fed(
        alt.Chart(title=f"Capacity by role, node-hours per hour ({axis.timezone})")
        .mark_rect(xOffset=1, x2Offset=-1)
        .encode(
            x=axis.x("hour_start"), x2=alt.X2("hour_end"), y=y_axis("low", "node-hours"), y2=alt.Y2("high"),
            color=alt.Color("role", type="nominal", title=None, scale=alt.Scale(domain=present, range=colors)),
            description=field("label", "nominal"), tooltip=field("label", "nominal", "Tooltip"),
        )
        .properties(width=WIDTH, height=220),
        long,
    )


@built
def waterfall_chart(waterfall: pl.DataFrame):
    """Theoretical to billed revenue, every model together, each bar's amount on it."""
    import altair as alt

    frame = waterfall.filter(pl.col("model") == ALL_MODELS).with_columns(
        low=pl.min_horizontal("start_usd", "end_usd"), high=pl.max_horizontal("start_usd", "end_usd"),
        amount=pl.col("amount_usd").map_elements(_signed_usd, return_dtype=pl.String),
    ).with_columns(label=pl.format("{}: {}", pl.col("step"), pl.col("amount")))
    x = alt.X("step", type="nominal", sort=alt.SortField("step_order"), title=None,
              axis=alt.Axis(labelAngle=-30, labelAlign="right", labelBaseline="top"))  # read at a phone's width too
    base = alt.Chart()
    bars = base.mark_bar().encode(
        x=x, y=alt.Y("low", type="quantitative", title="USD"), y2=alt.Y2("high"),
        color=alt.Color("kind", type="nominal", title=None,
                        scale=alt.Scale(domain=["total", "change"], range=[WATERFALL["total"], WATERFALL["change"]])),
        description=field("label", "nominal"), tooltip=field("label", "nominal", "Tooltip"),
    )
    amounts = base.mark_text(dy=-6, fontSize=11).encode(x=x, y=alt.Y("high", type="quantitative"),
                                                          text=alt.Text("amount", type="nominal"))
    chart = alt.layer(bars, amounts, title="Revenue waterfall: theoretical to billed (USD)").properties(
        width=WIDTH, height=240)
    drawn = frame.select("step", "step_order", "low", "high", "kind", "amount", "label")
    return fed(chart, drawn, drawn)


def _signed_usd(value: float) -> str:
    return f"{'-' if value < 0 else ''}${abs(value):,.0f}"
