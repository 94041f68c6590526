"""Trends over a period, one point per published day, drawn in the browser
and kept as SVG for pages without script (the daily charts' rendering: hover
titles, no legend entry for an absent series).
A day not published is a gap in each line, not a line drawn across it; each
quantity has its colour from ``palette``."""

from __future__ import annotations

import polars as pl

from openbooks.flows.report.charts import WIDTH, built, fed, field, figures
from openbooks.flows.report.palette import colour

REVENUE = {"gpu_cost_usd": "GPU cost", "theoretical_revenue_usd": "theoretical revenue",
           "billed_revenue_usd": "billed revenue"}
MARGINS = {"gross_margin": "theoretical", "billed_gross_margin": "billed", "loaded_gross_margin": "fully loaded"}
DAY_MS = 86_400_000  # a tick a day at most (the axis of a wide chart would repeat a day)
UNIT_COST = {"cost_per_million_input_usd": "per million input tokens",
             "cost_per_million_output_usd": "per million output tokens"}
CACHE = {"cache_hit_rate": "cache hit rate"}
NODE_HOURS = {"serving_node_hours": "serving", "idle_node_hours": "idle", "training_node_hours": "training"}
# A line chart's series, title, y-axis title, hover number format and axis number format.
REVENUE_TREND = (REVENUE, "GPU cost against theoretical and billed revenue (USD per day)", "USD", "${:,.0f}", "$,.0f")
MARGIN_TREND = (MARGINS, "Gross margin: theoretical, billed, fully loaded", "gross margin", "{:.1%}", ".0%")
UNIT_COST_TREND = (UNIT_COST, "GPU cost per million tokens (USD)", "USD", "${:,.4f}", "$,.2f")
CACHE_TREND = (CACHE, "Cache hit rate", "cache hit rate", "{:.2%}", ".0%")


def _long(daily: pl.DataFrame, series: dict[str, str], number: str) -> pl.DataFrame:
    """day, series, value, label for each column of ``series`` that has a value on some day."""
    present = [c for c in series if c in daily.columns and daily[c].drop_nulls().len() > 0]
    frames = [
        daily.select(
            day=pl.col("day").cast(pl.Datetime), series=pl.lit(series[c]), value=pl.col(c).cast(pl.Float64),
            label=pl.format("{} {}: {}", pl.col("day").dt.strftime("%Y-%m-%d"), pl.lit(series[c]),
                            pl.col(c).map_elements(number.format, return_dtype=pl.String)),
        )
        for c in present
    ]
    schema = {"day": pl.Datetime, "series": pl.String, "value": pl.Float64, "label": pl.String}
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


@built
def line_chart(daily: pl.DataFrame, series: dict[str, str], title: str, y_title: str, number: str, axis_format: str):
    import altair as alt

    long = _long(every_day(daily), series, number)
    present = [c for c in series if series[c] in set(long["series"].to_list())]
    base = alt.Chart(title=title).encode(
        x=alt.X("day", type="temporal", title=None,
                axis=alt.Axis(format="%b %d", labelAngle=0, tickMinStep=DAY_MS)),
        y=alt.Y("value", type="quantitative", title=y_title, axis=alt.Axis(format=axis_format)),
        color=alt.Color("series", type="nominal", title=None, scale=alt.Scale(
            domain=[series[c] for c in present], range=[colour(c) for c in present])),
    )
    drawn = long.filter(pl.col("value").is_not_null())
    points = base.mark_point(filled=True, size=40).encode(description=field("label", "nominal"),
                                                           tooltip=field("label", "nominal", "Tooltip"))
    line = base.mark_line(invalid="break-paths-show-domains")
    return fed(alt.layer(line, points).properties(width=WIDTH, height=200), long, drawn)


def every_day(daily: pl.DataFrame) -> pl.DataFrame:
    """``daily`` with a row of nulls for each day between its first and last that is not published."""
    if daily.height < 2:
        return daily
    grid = pl.DataFrame({"day": pl.date_range(daily["day"].min(), daily["day"].max(), "1d", eager=True)})
    return grid.join(daily, on="day", how="left").sort("day")


@built
def node_hours_chart(daily: pl.DataFrame):
    import altair as alt

    frame = daily.with_columns(serving_node_hours=pl.col("prefill_node_hours") + pl.col("decode_node_hours"))
    long = _long(frame, NODE_HOURS, "{:,.0f}")
    long = long.filter(pl.col("value") != 0) if long.height else long
    domain = [name for name in NODE_HOURS.values() if name in set(long["series"].to_list())]
    roles = {name: role for role, name in NODE_HOURS.items()}
    return fed(
        alt.Chart(title="Node-hours by day: " + ", ".join(domain))
        .mark_bar()
        .encode(
            x=alt.X("day", type="temporal", title=None, axis=alt.Axis(format="%b %d", labelAngle=0, tickMinStep=DAY_MS),
                    timeUnit="yearmonthdate"),
            y=alt.Y("value", type="quantitative", title="node-hours", stack="zero"),
            color=alt.Color("series", type="nominal", title=None, scale=alt.Scale(
                domain=domain, range=[colour(roles[name].removesuffix("_node_hours")) for name in domain])),
            order=alt.Order("series", type="nominal"), description=field("label", "nominal"),
            tooltip=field("label", "nominal", "Tooltip"),
        )
        .properties(width=WIDTH, height=200),
        long,
    )


def trend_charts(daily: pl.DataFrame, cost_breakdown: pl.DataFrame | None = None) -> list[str]:
    """The period's trend charts as figures, SVG kept for pages without script (none without a published day)."""
    if not daily.height:
        return []
    daily = daily.sort("day")
    lines = (REVENUE_TREND, MARGIN_TREND, UNIT_COST_TREND, CACHE_TREND)
    return figures([*((line_chart, (daily, *line)) for line in lines), (node_hours_chart, (daily,))])
