"""A period statement as Markdown, a self-contained HTML page, CSV or JSON.

The figures are the daily statement's, with the same labels and formats, over
the period; an incomplete period names its missing and failed days first.
"""

from __future__ import annotations

import html
import io
import json
from datetime import date
from pathlib import Path

import polars as pl

from openbooks.flows.report.anomaly_lines import descriptions
from openbooks.flows.report.files import write_text_atomically
from openbooks.flows.report.format import (
    Link, figure_rows, format_value, html_table, markdown_table, markdown_text, money, pct, usd,
)
from openbooks.flows.report.period import Statement
from openbooks.flows.report.sections import customers as customer_section
from openbooks.flows.report.sections.figures import FIGURES
from openbooks.flows.report.sections.in_depth import IN_DEPTH_FIGURES

FORMATS = ("md", "html", "csv", "json", "focus")
LABELS = {key: (label.strip(), fmt.replace("{:,}", "{:,.0f}")) for key, label, fmt in FIGURES + IN_DEPTH_FIGURES}
LABELS["idle_capacity_share"] = ("Idle capacity, share of peak capacity", "{:.1%}")
DAYS_HEADER = ["day", "status", "GPU cost", "theoretical revenue", "billed revenue", "gross margin",
               "gross margin, billed", "cache hit rate"]


def headline(stmt: Statement) -> str:
    p, published = stmt.period, stmt.days.filter(pl.col("status") == "published").height
    return f"Business days {p.start} to {p.end} ({p.days} days, {published} published)."


def incomplete_note(stmt: Statement) -> str:
    """The days missing or failed, or '' when every day is published."""
    if stmt.complete:
        return ""
    names = "; ".join(f"{status}: " + day_ranges(group["day"].to_list())
                      for (status,), group in stmt.absent.group_by("status", maintain_order=True))
    return f"Incomplete: {stmt.absent.height} of {stmt.period.days} days are not published ({names})."


def day_ranges(days: list[date]) -> str:
    """Days as runs: ``2025-02-01 to 2025-02-19, 2025-02-28``."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(f"{run[0]} to {run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)


def _signed(value: float, fmt: str) -> str:
    if "%" in fmt:
        return f"{value * 100:+.1f} pts"
    return ("-" if value < 0 else "+") + fmt.format(abs(value))


def change_rows(stmt: Statement) -> list[list[str]]:
    """A row per figure; one row saying so when no day of the previous period is published."""
    if stmt.change.height and stmt.change["previous"].is_null().all():
        return [["no day of the previous period is published: nothing to compare", "", "", ""]]
    rows = []
    for r in stmt.change.iter_rows(named=True):
        label, fmt = LABELS.get(r["figure"], (r["figure"], "{:,.2f}"))
        change = "n/a" if r["change"] is None else _signed(r["change"], fmt)
        if r["change_share"] is not None:
            change += f" ({r['change_share']:+.1%})"
        rows.append([label, format_value(r["current"], fmt), format_value(r["previous"], fmt), change])
    return rows


def day_rows(stmt: Statement) -> list[list[str]]:
    usd = "${:,.0f}"
    return [
        [Link(str(r["day"]), f"../{r['day']}.html") if r["status"] == "published" else str(r["day"]), r["status"],
         format_value(r["gpu_cost_usd"], usd), format_value(r["theoretical_revenue_usd"], usd),
         format_value(r["billed_revenue_usd"], usd), pct(r["gross_margin"]), pct(r["billed_gross_margin"]),
         format_value(r["cache_hit_rate"], "{:.2%}")]
        for r in stmt.days.iter_rows(named=True)
    ]


def waterfall_rows(stmt: Statement) -> tuple[list[str], list[list[str]]]:
    if not stmt.waterfall.height:
        return ["step"], []
    models = stmt.waterfall["model"].unique(maintain_order=True).to_list()
    wide = stmt.waterfall.pivot(on="model", index=["step_order", "step"], values="amount_usd").sort("step_order")
    return ["step", *models], [[r["step"], *(money(r[m]) for m in models)] for r in wide.iter_rows(named=True)]


def model_link(model: str) -> str:
    """A model's cell, linking to its page on the site (``named_pages``); "all" is no model."""
    from urllib.parse import quote

    return model if model == "all" else Link(str(model), f"../models/{quote(quote(str(model), safe=''))}.html")


def tables(stmt: Statement) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table of the statement, in page order."""
    totals = stmt.totals.row(0, named=True)
    figures = [list(r) for r in figure_rows(totals, FIGURES + IN_DEPTH_FIGURES)]
    cost = [[r["line"], usd(r["usd"]), pct(r["share"])] for r in stmt.cost_breakdown.iter_rows(named=True)]
    if cost:
        cost.append(["fully loaded", usd(stmt.cost_breakdown["usd"].sum()), pct(1.0)])
    models = [[model_link(r["model"]), money(r["theoretical_revenue_usd"]), money(r["billed_revenue_usd"]),
               pct(r["billed_share"])]
              for r in stmt.models.iter_rows(named=True)]
    previous = f"previous ({stmt.previous.start} to {stmt.previous.end})"
    parts = [
        ("Figures", ["figure", "value"], figures),
        ("Change against the previous period", ["figure", "this period", previous, "change"], change_rows(stmt)),
        ("Revenue by model", ["model", "theoretical revenue", "billed revenue", "billed share"], models),
        ("Revenue waterfall", *waterfall_rows(stmt)),
        ("Cost breakdown", ["line", "USD", "share"], cost),
        ("Days", DAYS_HEADER, day_rows(stmt)),
    ]
    if stmt.customers.height:
        parts += [(title, customer_section.HEADER, rows) for title, rows in customer_section.tables(stmt.customers)]
    if stmt.forecast.height:
        parts.append(forecast_table(stmt.forecast))
    if stmt.scenarios.height:
        parts.append(("What if", SCENARIO_HEADER, [
            [r["scenario"], f"{r['gpu_type']} x{r['gpus_per_node']:g} at ${r['rental_usd_per_gpu_hour']:.2f}",
             money(r["gpu_cost_usd"]), money(r["revenue_usd"]), pct(r["gross_margin"]), pct(r["billed_gross_margin"]),
             format_value(r["cost_per_million_output_usd"], "${:.2f}")]
            for r in stmt.scenarios.iter_rows(named=True)]))
    return parts


SCENARIO_HEADER = ["scenario", "GPU", "GPU cost", "revenue", "gross margin", "billed gross margin",
                   "cost per M output"]
FORECAST_LABELS = {"gpu_cost_usd": ("GPU cost", money), "theoretical_revenue_usd": ("Theoretical revenue", money),
                   "billed_revenue_usd": ("Billed revenue", money), "gross_margin": ("Gross margin", pct),
                   "cost_profit_margin": ("Cost profit margin", lambda v: format_value(v, "{:.0%}")),
                   "billed_gross_margin": ("Gross margin, billed", pct)}


def forecast_table(projected: pl.DataFrame) -> tuple[str, list[str], list[list[str]]]:
    """The month's forecast: so far, projected and its 90% interval, titled with the days it rests on."""
    first = projected.row(0, named=True)
    title = (f"Forecast for the month ({first['days_published']} days published, {first['days_projected']} projected "
             f"from the {first['basis_days']} days {first['basis_first_day']} to {first['basis_last_day']})")
    rows = [[label, fmt(r["so_far"]), fmt(r["projected"]), fmt(r["low"]), fmt(r["high"])]
            for r in projected.iter_rows(named=True) for label, fmt in [FORECAST_LABELS[r["figure"]]]]
    return title, ["figure", "so far", "projected", "low (90%)", "high (90%)"], rows


def markdown(stmt: Statement) -> str:
    note, found = incomplete_note(stmt), descriptions(stmt.anomalies)
    return "\n\n".join([
        f"# openbooks: {stmt.period.label}",
        headline(stmt),
        *([f"**{markdown_text(note)}**"] if note else []),
        *(["## Anomalies\n\n" + "\n".join(f"- {markdown_text(line)}" for line in found)] if found else []),
        *[f"## {title}\n\n" + markdown_table(header, rows) for title, header, rows in tables(stmt)],
    ]) + "\n"


def html_page(stmt: Statement) -> str:
    from openbooks.flows.report.page import end, head
    from openbooks.flows.report.period_charts import trend_charts

    note, found = incomplete_note(stmt), descriptions(stmt.anomalies)
    lines = [
        '<nav class="site"><a href="../index.html">all days</a></nav>',
        f"<h1>openbooks: {html.escape(stmt.period.label)}</h1>",
        f"<p>{html.escape(headline(stmt))}</p>",
        *([f'<p class="incomplete"><strong>{html.escape(note)}</strong></p>'] if note else []),
        *(["<h2>Anomalies</h2><ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in found) + "</ul>"] if found else []),
        "<h2>Trends</h2>" + "".join(trend_charts(stmt.daily, stmt.cost_breakdown)),
        *[html_table(title, header, rows) for title, header, rows in tables(stmt)],
    ]
    return head(html.escape(stmt.period.label)) + "\n".join(lines) + "\n" + end("../")


def csv_text(stmt: Statement) -> str:
    """One row per day of the period (published or not) and a ``total`` row,
    whose ratios are the period's (from its sums)."""
    columns = [c for c in stmt.totals.columns if c in stmt.daily.columns and c != "day"]
    days = stmt.days.select("day", "status").join(stmt.daily.select("day", *columns), on="day", how="left")
    total = stmt.totals.select(*columns).with_columns(day=pl.lit("total"), status=pl.lit(
        "complete" if stmt.complete else "incomplete"))
    table = pl.concat([days.with_columns(pl.col("day").cast(pl.String)), total.select(days.columns)],
                      how="vertical_relaxed")
    buffer = io.StringIO()
    table.write_csv(buffer)
    return buffer.getvalue()


def _records(frame: pl.DataFrame) -> list[dict]:
    return [{k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()} for row in frame.to_dicts()]


def json_text(stmt: Statement) -> str:
    document = {
        "period": {"label": stmt.period.label, "start": str(stmt.period.start), "end": str(stmt.period.end),
                   "days": stmt.period.days, "complete": stmt.complete},
        "previous_period": {"start": str(stmt.previous.start), "end": str(stmt.previous.end)},
        "not_published": _records(stmt.absent),
        "totals": _records(stmt.totals)[0],
        "change": _records(stmt.change),
        "days": _records(stmt.days),
        "models": _records(stmt.models),
        "waterfall": _records(stmt.waterfall),
        "cost_breakdown": _records(stmt.cost_breakdown),
        "customers": _records(stmt.customers),
        "anomalies": _records(stmt.anomalies),
        "forecast": _records(stmt.forecast),
        "scenarios": _records(stmt.scenarios),
    }
    return json.dumps(document, indent=2) + "\n"


def focus_csv(stmt: Statement) -> str:
    """The period's cost lines as FOCUS 1.2-shaped CSV rows, for FinOps tools."""
    from openbooks.transforms.period import focus_rows

    buffer = io.StringIO()
    focus_rows(stmt.daily_cost_lines, stmt.daily).write_csv(buffer)
    return buffer.getvalue()


RENDERERS = {"md": markdown, "html": html_page, "csv": csv_text, "json": json_text, "focus": focus_csv}
SUFFIXES = {"focus": "focus.csv"}


def write_statement(directory: Path, stmt: Statement, fmt: str) -> Path:
    """``<directory>/<label>.<fmt>`` (FOCUS rows: ``<label>.focus.csv``), written
    atomically; a page's Vega bundle in the site's folder, ``directory``'s parent (``assets``)."""
    directory.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        from openbooks.flows.report.assets import write_bundle

        write_bundle(directory.parent)
    path = directory / f"{stmt.period.label}.{SUFFIXES.get(fmt, fmt)}"
    write_text_atomically(path, RENDERERS[fmt](stmt))
    return path
