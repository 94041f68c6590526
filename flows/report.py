"""The day's report: Markdown and a self-contained HTML page.

The two charts DeepSeek published are drawn from our own tables: serving
nodes over the day, and hourly GPU cost against theoretical income. Charts
are rendered to inline SVG, so the page needs no network to open.

Reports are rendered before the day is published and written after it, each
file replaced atomically, so a failed run never leaves a half-written report.
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

FIGURES = (
    ("node_hours", "Node-hours (serving)", "{:,.2f}"),
    ("peak_nodes", "Peak nodes", "{:,.0f}"),
    ("avg_nodes", "Average nodes", "{:,.2f}"),
    ("gpu_hours", "GPU-hours", "{:,.0f}"),
    ("gpu_cost_usd", "GPU cost (rental)", "${:,.0f}"),
    ("input_tokens", "Input tokens", "{:,}"),
    ("cache_hit_tokens", "  of which cache hits", "{:,}"),
    ("cache_hit_rate", "Cache hit rate", "{:.2%}"),
    ("output_tokens", "Output tokens", "{:,}"),
    ("theoretical_revenue_usd", "Theoretical revenue", "${:,.0f}"),
    ("cost_profit_margin", "Cost profit margin", "{:.0%}"),
    ("gross_margin", "Gross margin", "{:.1%}"),
)


@dataclass(frozen=True)
class Report:
    day: str
    markdown: str
    html: str


def format_value(value, fmt: str) -> str:
    """A figure as shown in reports: ``fmt`` applied, ``n/a`` when missing."""
    return "n/a" if value is None else fmt.format(value)


def figure_rows(daily: dict, figures: tuple[tuple[str, str, str], ...] = FIGURES) -> list[tuple[str, str]]:
    """(label, formatted value) for each (key, label, format) of ``figures``."""
    return [(label, format_value(daily.get(key), fmt)) for key, label, fmt in figures]


def _local(frame: pl.DataFrame, column: str, timezone: str) -> pl.DataFrame:
    """A UTC column as naive local time (charts read naive times as-is)."""
    return frame.with_columns(pl.col(column).dt.convert_time_zone(timezone).dt.replace_time_zone(None))


def node_chart(steps: pl.DataFrame, timezone: str):
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


def svg(chart) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_json())


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _hourly_rows(hourly: pl.DataFrame, timezone: str) -> list[list[str]]:
    zone = ZoneInfo(timezone)
    return [
        [
            row["hour_start"].astimezone(zone).strftime("%m-%d %H:%M"),
            f"{row['avg_nodes']:,.2f}",
            f"${row['gpu_cost_usd']:,.0f}",
            f"{row['input_tokens']:,}",
            f"{row['output_tokens']:,}",
            f"${row['theoretical_revenue_usd']:,.0f}",
        ]
        for row in hourly.iter_rows(named=True)
    ]


HOURLY_HEADER = ["hour", "avg nodes", "GPU cost", "input tokens", "output tokens", "theoretical income"]
CUSTOMER_HEADER = ["customer", "requests", "input tokens", "output tokens", "billed revenue", "allocated cost", "margin"]
TOP_CUSTOMERS = 10


def customer_tables(customers: pl.DataFrame | None) -> list[tuple[str, list[list[str]]]]:
    """(title, rows) of the top customers by billed revenue and by loss."""
    if customers is None or customers.height == 0:
        return []

    def rows(frame: pl.DataFrame) -> list[list[str]]:
        return [
            [str(r["customer_id"]), f"{r['requests']:,}", f"{r['input_tokens']:,}", f"{r['output_tokens']:,}",
             f"${r['billed_revenue_usd'] or 0:,.2f}", f"${r['allocated_cost_usd'] or 0:,.2f}",
             f"${r['margin_usd'] or 0:,.2f}"]
            for r in frame.iter_rows(named=True)
        ]

    by_revenue = customers.sort("billed_revenue_usd", "customer_id", descending=[True, False], nulls_last=True)
    by_loss = customers.filter(pl.col("margin_usd") < 0).sort("margin_usd", "customer_id", nulls_last=True)
    return [
        (f"Top {TOP_CUSTOMERS} customers by billed revenue", rows(by_revenue.head(TOP_CUSTOMERS))),
        (f"Top {TOP_CUSTOMERS} customers by loss", rows(by_loss.head(TOP_CUSTOMERS))),
    ]


def render(
    *,
    daily: pl.DataFrame,
    hourly: pl.DataFrame,
    steps: pl.DataFrame,
    timezone: str,
    validation: list[str],
    run_id: str,
    config_hash: str,
    generated_at: datetime,
    waterfall: pl.DataFrame | None = None,
    scenarios: pl.DataFrame | None = None,
    cost_breakdown: pl.DataFrame | None = None,
    claims: pl.DataFrame | None = None,
    data_docs: dict[str, str] | None = None,
    customers: pl.DataFrame | None = None,
) -> Report:
    """The report of one day, as Markdown and as HTML (with the economics in
    depth when the waterfall, scenarios, cost breakdown and claims are given).
    ``data_docs`` maps a suite to its GX Data Docs page, relative to the
    report directory."""
    row = daily.row(0, named=True)
    day = row["day"].isoformat()
    zone = ZoneInfo(timezone)
    window = (
        f"{row['day_start'].astimezone(zone):%Y-%m-%d %H:%M} to "
        f"{row['day_end'].astimezone(zone):%Y-%m-%d %H:%M} {timezone} ({row['hours']:g} h)"
    )
    figures = figure_rows(row)
    provenance = f"run {run_id}, config {config_hash}, generated {generated_at:%Y-%m-%d %H:%M:%S} UTC"
    deep_md, deep_html, deep_charts = "", "", ""
    if waterfall is not None:
        from flows.report_economics import sections

        deep_md, deep_html, deep_charts = sections(
            daily=row, hourly=hourly, timezone=timezone, waterfall=waterfall, scenarios=scenarios,
            cost_breakdown=cost_breakdown, claims=claims if claims is not None else pl.DataFrame(),
        )
    markdown = "\n\n".join(
        [
            f"# openbooks: {day}",
            f"Business day {window}. Theoretical revenue prices every token at the list price of "
            f"`{row['reference_model']}`.",
            "## Figures\n\n" + _markdown_table(["figure", "value"], [list(r) for r in figures]),
            *([deep_md] if deep_md else []),
            "## Validation\n\n" + "\n".join(f"- {line}" for line in validation) + _docs_markdown(data_docs),
            "## Hourly\n\n" + _markdown_table(HOURLY_HEADER, _hourly_rows(hourly, timezone)),
            *[f"## {title}\n\n" + _markdown_table(CUSTOMER_HEADER, rows) for title, rows in customer_tables(customers)],
            f"Charts: [{day}.html]({day}.html)\n\n_{provenance}_\n",
        ]
    )
    charts = svg(node_chart(steps, timezone)) + svg(cost_income_chart(hourly, timezone)) + deep_charts
    page = _HTML.format(
        day=day,
        window=html.escape(window),
        model=html.escape(row["reference_model"]),
        figures="".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in figures),
        charts=charts,
        in_depth=deep_html,
        validation="".join(f"<li>{html.escape(v)}</li>" for v in validation) + _docs_html(data_docs),
        hourly_head="".join(f"<th>{h}</th>" for h in HOURLY_HEADER),
        hourly="".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
            for r in _hourly_rows(hourly, timezone)
        ),
        provenance=html.escape(provenance),
        customers="".join(
            f"<h2>{html.escape(title)}</h2><table><thead><tr>{''.join(f'<th>{h}</th>' for h in CUSTOMER_HEADER)}"
            "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
            + "</tbody></table>"
            for title, rows in customer_tables(customers)
        ),
    )
    return Report(day, markdown, page)


def _docs_markdown(data_docs: dict[str, str] | None) -> str:
    if not data_docs:
        return ""
    return "\n\nGX Data Docs: " + ", ".join(f"[{suite}]({path})" for suite, path in data_docs.items())


def _docs_html(data_docs: dict[str, str] | None) -> str:
    if not data_docs:
        return ""
    links = ", ".join(f'<a href="{html.escape(p)}">{html.escape(s)}</a>' for s, p in data_docs.items())
    return f"<li>GX Data Docs: {links}</li>"


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>openbooks {day}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .25rem .75rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
.muted {{ color: #777; font-size: .85rem; }}
</style></head>
<body>
<h1>openbooks: {day}</h1>
<p>Business day {window}. Theoretical revenue prices every token at the list price of <code>{model}</code>.</p>
<h2>Figures</h2><table>{figures}</table>
<h2>Charts</h2>{charts}
{in_depth}
<h2>Validation</h2><ul>{validation}</ul>
<h2>Hourly</h2><table><thead><tr>{hourly_head}</tr></thead><tbody>{hourly}</tbody></table>
{customers}
<p class="muted">{provenance}</p>
</body></html>
"""


def report_paths(directory: Path, day: str) -> tuple[Path, Path]:
    return directory / f"{day}.md", directory / f"{day}.html"


def write_report(directory: Path, report: Report) -> tuple[Path, Path]:
    """Write both files, each atomically (temp file + rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = report_paths(directory, report.day)
    for path, text in zip(paths, (report.markdown, report.html)):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return paths
