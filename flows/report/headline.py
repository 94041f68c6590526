"""The headline strip: a day's key figures, each against its trailing median.

The median is taken over the published days before the day, up to
``WINDOW_DAYS`` of them (the anomaly check's default window). Shares move by
points (0.05 = 5 points), amounts by their share of the median. Shown at the
top of the site's index, of each day's page and of ``openbooks ui``'s pages.
"""

from __future__ import annotations

import html
from datetime import date, timedelta

import polars as pl

from openbooks.flows.report.format import money, pct
from openbooks.transforms.anomalies import WINDOW_DAYS
from openbooks.transforms.anomalies import WINDOW_DAYS

# (key, label, kind): kind money, share (a fraction) or rate (dollars per million tokens)
FIGURES = (
    ("gpu_cost_usd", "GPU cost", "money"),
    ("theoretical_revenue_usd", "Theoretical revenue", "money"),
    ("billed_revenue_usd", "Billed revenue", "money"),
    ("cost_profit_margin", "Cost profit margin", "share"),
    ("billed_gross_margin", "Billed gross margin", "share"),
    ("cost_per_million_tokens_usd", "Cost per million tokens", "rate"),
    ("cache_hit_rate", "Cache hit rate", "share"),
)
SCHEMA = {"day": pl.Date, "figure": pl.Utf8, "label": pl.Utf8, "kind": pl.Utf8, "value": pl.Float64,
          "median": pl.Float64, "median_days": pl.Int64, "change": pl.Float64}


def with_unit_cost(daily: pl.DataFrame) -> pl.DataFrame:
    """``daily`` with cost per million tokens (input + output)."""
    tokens = pl.col("input_tokens") + pl.col("output_tokens")
    return daily.with_columns(cost_per_million_tokens_usd=pl.when(tokens > 0).then(
        pl.col("gpu_cost_usd") / tokens * 1e6))


def change(value: float | None, median: float | None, kind: str) -> float | None:
    """Points for shares, share of the median for amounts; None without both."""
    if value is None or median is None:
        return None
    if kind == "share":
        return value - median
    return None if median == 0 else (value - median) / abs(median)


def headline_rows(daily: pl.DataFrame, day: date) -> pl.DataFrame:
    """One row per figure of ``day``: value, median of the window before it, days in it, change."""
    here = daily.filter(pl.col("day") == day)
    before = daily.filter(pl.col("day") < day).sort("day").tail(WINDOW_DAYS)
    rows = []
    for key, label, kind in FIGURES:
        value = here[key][0] if here.height else None
        known = before[key].drop_nulls()
        median = known.median() if known.len() else None
        rows.append({"day": day, "figure": key, "label": label, "kind": kind, "value": value, "median": median,
                     "median_days": known.len(), "change": change(value, median, kind)})
    return pl.DataFrame(rows, schema=SCHEMA)


def shown(value: float | None, kind: str) -> str:
    return "—" if value is None else pct(value) if kind == "share" else money(value)


def change_text(row: dict) -> tuple[str, str]:
    """The change against the median, and whether it went up, down or neither."""
    moved = row["change"]
    if moved is None:
        return "no earlier days", "flat"
    text = f"{moved * 100:+.1f} pts" if row["kind"] == "share" else f"{moved:+.1%}"
    return f"{text} vs median of {row['median_days']} day(s)", "up" if moved > 0 else "down" if moved < 0 else "flat"


def strip_html(rows: pl.DataFrame) -> str:
    """The strip as HTML: one card per figure (classes headline, figure, label, value, change up/down/flat)."""
    cards = []
    for row in rows.iter_rows(named=True):
        text, direction = change_text(row)
        cards.append(f'<div class="figure"><div class="label">{html.escape(row["label"])}</div>'
                     f'<div class="value">{shown(row["value"], row["kind"])}</div>'
                     f'<div class="change {direction}">{html.escape(text)}</div></div>')
    day = rows["day"][0] if rows.height else ""
    return f'<section class="headline" aria-label="headline figures of {day}">{"".join(cards)}</section>'


COLUMNS = ("day", "input_tokens", "output_tokens",
           *(key for key, _, _ in FIGURES if key != "cost_per_million_tokens_usd"))


def headline_window(first: date, last: date) -> tuple[date, date]:
    """The published days the strips of ``first`` to ``last`` read (their windows, generously)."""
    return first - timedelta(days=2 * WINDOW_DAYS), last


def headline_of(history: pl.DataFrame, day: date) -> pl.DataFrame:
    """The strip of a published ``day``, from the published rows of its window (``COLUMNS``)."""
    return headline_rows(with_unit_cost(history), day)


def headlines_of_days(history: pl.DataFrame, dailies: pl.DataFrame) -> dict[date, pl.DataFrame]:
    """The strip of each day of ``dailies`` (days being run together, one
    ``daily_economics`` row each) against the days before it: the published
    ones (``history``, the rows of ``headline_window``), the days of
    ``dailies`` standing in for their published rows (as each will be
    published by the time its page is read)."""
    days = sorted(dailies["day"].to_list())
    rows = pl.concat([history.filter(~pl.col("day").is_in(days)), dailies.select(COLUMNS)],
                     how="vertical_relaxed").sort("day")
    return {day: headline_rows(with_unit_cost(rows), day) for day in days}
