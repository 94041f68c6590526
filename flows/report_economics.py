"""The economics-in-depth sections of the day's report: the revenue
waterfall and capacity-by-role charts, and the billed/loaded figures, cost
breakdown, scenario and claims tables. Charts are inline SVG, as in
``flows/report.py``."""

from __future__ import annotations

import html
from dataclasses import dataclass

import polars as pl

from flows.report import figure_rows, format_value
from transforms.waterfall import ALL_MODELS

IN_DEPTH_FIGURES = (
    ("billed_revenue_usd", "Billed revenue", "${:,.0f}"),
    ("billed_gross_margin", "Gross margin, billed, on GPU cost", "{:.1%}"),
    ("loaded_cost_usd", "Fully loaded cost", "${:,.0f}"),
    ("loaded_cost_profit_margin", "Cost profit margin, fully loaded", "{:.0%}"),
    ("loaded_gross_margin", "Gross margin, fully loaded", "{:.1%}"),
    ("billed_loaded_gross_margin", "Gross margin, billed, fully loaded", "{:.1%}"),
    ("idle_capacity_node_hours", "Idle capacity against the peak (node-hours)", "{:,.0f}"),
    ("idle_capacity_share", "  share of peak capacity", "{:.1%}"),
    ("idle_capacity_usd", "  at rental", "${:,.0f}"),
    ("training_node_hours", "Node-hours lent to training", "{:,.0f}"),
    ("training_node_hours_credit_usd", "  credited at rental", "${:,.0f}"),
    ("prefill_input_tokens_per_node_second", "Input tokens/s per prefill node", "{:,.0f}"),
    ("decode_output_tokens_per_node_second", "Output tokens/s per decode node", "{:,.0f}"),
    ("cost_per_million_input_usd", "GPU cost per million input tokens", "${:,.4f}"),
    ("cost_per_million_output_usd", "GPU cost per million output tokens", "${:,.4f}"),
    ("break_even_output_price_usd", "Break-even output price (GPU cost)", "${:,.4f}"),
    ("loaded_break_even_output_price_usd", "Break-even output price (fully loaded)", "${:,.4f}"),
    ("cache_discount_usd", "Revenue given up by the cache discount", "${:,.0f}"),
    ("cache_saved_node_hours", "Prefill node-hours saved by cache hits", "{:,.0f}"),
    ("cache_saved_gpu_hours", "  GPU-hours", "{:,.0f}"),
    ("cache_saved_usd", "  at rental", "${:,.0f}"),
)


@dataclass(frozen=True)
class Section:
    markdown: str
    html: str


def _money(value) -> str:
    return "n/a" if value is None else f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def _number(value) -> str:
    """A claim's value: ratios with four significant digits, larger figures in whole units."""
    if value is None:
        return "n/a"
    return f"{value:,.4g}" if abs(value) < 100 else f"{value:,.0f}"


def _pct(value) -> str:
    return format_value(value, "{:.1%}")


def _usd(value) -> str:
    return format_value(value, "${:,.0f}")


def _table(title: str, header: list[str], rows: list[list[str]]) -> Section:
    md = [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return Section("\n".join(md), f"<h2>{html.escape(title)}</h2><table><thead><tr>{head}</tr></thead>"
                                  f"<tbody>{cells}</tbody></table>")


def figures_section(daily: dict) -> Section:
    rows = [list(row) for row in figure_rows(daily, IN_DEPTH_FIGURES)]
    return _table("The economics in depth", ["figure", "value"], rows)


def waterfall_chart(waterfall: pl.DataFrame):
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
    import altair as alt

    roles = ["prefill_node_hours", "decode_node_hours", "idle_node_hours", "training_node_hours"]
    frame = hourly.with_columns(
        hour=pl.col("hour_start").dt.convert_time_zone(timezone).dt.strftime("%H:%M"), order=pl.int_range(pl.len())
    )
    long = frame.select("hour", "order", *roles).unpivot(
        index=["hour", "order"], variable_name="role", value_name="node_hours"
    ).with_columns(
        pl.col("role").str.replace("_node_hours", ""),
        stack=pl.col("role").replace_strict({r: i for i, r in enumerate(roles)}, return_dtype=pl.Int64),
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


def waterfall_section(waterfall: pl.DataFrame) -> Section:
    models = waterfall["model"].unique(maintain_order=True).to_list()
    wide = waterfall.pivot(on="model", index=["step_order", "step"], values="amount_usd").sort("step_order")
    rows = [[r["step"], *(_money(r[m]) for m in models)] for r in wide.iter_rows(named=True)]
    return _table("Revenue waterfall", ["step", *models], rows)


def cost_section(breakdown: pl.DataFrame) -> Section:
    rows = [[r["line"], f"${r['usd']:,.0f}", _pct(r["share"])] for r in breakdown.iter_rows(named=True)]
    rows.append(["fully loaded", f"${breakdown['usd'].sum():,.0f}", _pct(1.0 if breakdown.height else None)])
    return _table("Cost breakdown", ["line", "USD", "share"], rows)


def scenarios_section(scenarios: pl.DataFrame) -> Section:
    rows = [
        [r["card"], _usd(r["revenue_usd"]), _usd(r["billed_revenue_usd"]), format_value(r["cost_profit_margin"], "{:.0%}"),
         _pct(r["gross_margin"]), _pct(r["loaded_gross_margin"])]
        for r in scenarios.iter_rows(named=True)
    ]
    return _table("Price-card scenarios",
                  ["card", "revenue (all tokens)", "billed", "cost profit margin", "gross margin",
                   "gross margin, fully loaded"], rows)


def claims_section(audit: pl.DataFrame) -> Section:
    rows = [
        [r["claim"], _number(r["stated"]), _number(r["computed"]), r["verdict"], r["source"]]
        for r in audit.iter_rows(named=True)
    ]
    return _table("Claims audit", ["claim", "stated", "computed", "verdict", "source"], rows)


def sections(*, daily: dict, hourly: pl.DataFrame, timezone: str, waterfall: pl.DataFrame,
             scenarios: pl.DataFrame, cost_breakdown: pl.DataFrame, claims: pl.DataFrame) -> tuple[str, str, str]:
    """(markdown, HTML tables, HTML charts) of the economics in depth."""
    from flows.report import svg

    parts = [figures_section(daily), waterfall_section(waterfall), cost_section(cost_breakdown),
             scenarios_section(scenarios)]
    if claims.height:
        parts.append(claims_section(claims))
    charts = svg(waterfall_chart(waterfall)) + svg(capacity_chart(hourly, timezone))
    return "\n\n".join(p.markdown for p in parts), "".join(p.html for p in parts), charts
