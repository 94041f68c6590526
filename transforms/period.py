"""A statement over a period of business days, from the days' published rows.

Amounts (money, tokens, hours) are summed over the period's days; every ratio
is then recomputed from those sums with the same formula as a day's, never
averaged over days: a period's gross margin is (Σ revenue − Σ cost) / Σ
revenue. Frames in, frames out.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from openbooks.transforms.efficiency import prefill_share
from openbooks.transforms.figures import FIGURES
from openbooks.transforms.ratios import ratio

SUMMED = (
    "hours", "node_hours", "gpu_hours", "gpu_cost_usd",
    "input_tokens", "cache_hit_tokens", "cache_miss_tokens", "output_tokens", "requests",
    "theoretical_revenue_usd",
    "prefill_node_hours", "decode_node_hours", "serving_node_hours", "idle_node_hours", "training_node_hours",
    "billed_revenue_usd", "loaded_cost_usd",
    "idle_capacity_node_hours", "idle_capacity_usd", "training_node_hours_credit_usd",
    "cache_discount_usd", "cache_saved_node_hours", "cache_saved_gpu_hours", "cache_saved_usd",
)
# Summed only when every day has it: a period with a day without an invoice has no invoiced cost.
SUMMED_WHEN_EVERY_DAY = ("invoiced_gpu_cost_usd",)
# The columns of a day's row that name it rather than measure it: not carried into a period.
PER_DAY = ("day", "day_start", "day_end", "reference_model", "run_id", "config_hash")
COMPARED = (  # (figure, kind): money and amounts change by a difference and a share, ratios by points
    ("gpu_cost_usd", "amount"), ("theoretical_revenue_usd", "amount"), ("billed_revenue_usd", "amount"),
    ("loaded_cost_usd", "amount"), ("input_tokens", "amount"), ("output_tokens", "amount"),
    ("node_hours", "amount"), ("gross_margin", "ratio"), ("billed_gross_margin", "ratio"),
    ("loaded_gross_margin", "ratio"), ("cache_hit_rate", "ratio"), ("idle_capacity_share", "ratio"),
    ("cost_per_million_input_usd", "ratio"), ("cost_per_million_output_usd", "ratio"),
)


def period_sums(daily: pl.DataFrame) -> pl.DataFrame:
    """One row: the days counted, the summed amounts, the peak, and the bases
    that ratios need (peak capacity, prefill's share of GPU cost), each summed
    over days."""
    present = [c for c in SUMMED if c in daily.columns]
    return daily.select(
        days=pl.len().cast(pl.Int64),
        first_day=pl.col("day").min(),
        last_day=pl.col("day").max(),
        **{c: pl.col(c).sum() for c in present},
        **{c: pl.when(pl.col(c).null_count() == 0).then(pl.col(c).sum())
           for c in SUMMED_WHEN_EVERY_DAY if c in daily.columns},
        peak_nodes=pl.col("peak_nodes").max(),
        peak_capacity_node_hours=(pl.col("peak_nodes") * pl.col("hours")).sum(),
        prefill_cost_usd=(pl.col("gpu_cost_usd") * prefill_share().fill_null(0)).sum(),
    )


def ratio_columns() -> list[pl.Expr]:
    """The statement's rates and margins, each from the period's sums (the figure catalogue's)."""
    return [figure.period_expr() for figure in FIGURES]


def period_totals(daily: pl.DataFrame) -> pl.DataFrame:
    """The period's figures in one row: sums, then ratios from the sums."""
    sums = period_sums(daily)
    needed = {"billed_revenue_usd", "loaded_cost_usd", "idle_capacity_node_hours", "invoiced_gpu_cost_usd"}
    sums = sums.with_columns(pl.lit(None, pl.Float64).alias(c) for c in needed - set(sums.columns))
    return sums.with_columns(ratio_columns())


def calendar_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def days_table(daily: pl.DataFrame, last_runs: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Every day from ``start`` to ``end``: ``published`` with its headline
    figures, else ``failed`` (its last run failed) or ``missing`` (never run).
    ``last_runs``: day, status of each day's latest run."""
    calendar = pl.DataFrame({"day": calendar_days(start, end)}, schema={"day": pl.Date})
    figures = daily.select(
        "day", "gpu_cost_usd", "theoretical_revenue_usd", "billed_revenue_usd", "gross_margin",
        "billed_gross_margin", "cache_hit_rate", "input_tokens", "output_tokens",
    ).with_columns(published=pl.lit(True))
    runs = last_runs.select("day", last_status="status")
    return calendar.join(figures, on="day", how="left").join(runs, on="day", how="left").with_columns(
        status=pl.when(pl.col("published")).then(pl.lit("published"))
        .when(pl.col("last_status") == "failed").then(pl.lit("failed"))
        .otherwise(pl.lit("missing")),
    ).drop("published", "last_status").sort("day")


def absent_days(days: pl.DataFrame) -> pl.DataFrame:
    """The days of ``days_table`` that are not published: day, status."""
    return days.filter(pl.col("status") != "published").select("day", "status")


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def period_change(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """Each compared figure now and in the previous period: the difference, and
    for amounts its share of the previous value (null without a previous value:
    a previous period with no published day has none)."""
    rows = []
    has_previous = previous.height > 0 and previous["days"][0] > 0
    for figure, kind in COMPARED:
        now = current[figure][0] if figure in current.columns else None
        before = previous[figure][0] if has_previous and figure in previous.columns else None
        change = None if now is None or before is None else now - before
        share = change / before if kind == "amount" and change is not None and before else None
        rows.append({"figure": figure, "kind": kind, "current": now, "previous": before,
                     "change": change, "change_share": share})
    schema = {"figure": pl.String, "kind": pl.String, "current": pl.Float64, "previous": pl.Float64,
              "change": pl.Float64, "change_share": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def period_waterfall(waterfall: pl.DataFrame) -> pl.DataFrame:
    """Theoretical to billed over the period, per model and for all: each step's
    amount summed over days (to the cent), the bars rebuilt from them."""
    summed = waterfall.group_by("model", "step_order", "step", "kind").agg(
        amount_usd=pl.col("amount_usd").sum().round(2)).sort(pl.col("model") != "all", "model", "step_order")
    level = pl.when(pl.col("kind") == "total").then(pl.col("amount_usd")).otherwise(
        pl.col("amount_usd").cum_sum().over("model", order_by="step_order"))
    return summed.with_columns(end_usd=level.round(2)).with_columns(
        start_usd=pl.when(pl.col("kind") == "total").then(0.0).otherwise(
            (pl.col("end_usd") - pl.col("amount_usd")).round(2)))


def model_revenue(waterfall: pl.DataFrame) -> pl.DataFrame:
    """Per model and for all: theoretical and billed revenue over the period
    (first and last levels of the waterfall) and billed as a share of theoretical."""
    levels = waterfall.filter(pl.col("kind") == "total").group_by("model").agg(
        theoretical_revenue_usd=pl.col("amount_usd").filter(pl.col("step_order") == pl.col("step_order").min()).sum(),
        billed_revenue_usd=pl.col("amount_usd").filter(pl.col("step_order") == pl.col("step_order").max()).sum(),
    )
    return levels.with_columns(
        billed_share=ratio(pl.col("billed_revenue_usd"), pl.col("theoretical_revenue_usd"))
    ).sort(pl.col("model") != "all", "model")


def period_cost_breakdown(breakdown: pl.DataFrame) -> pl.DataFrame:
    """The fully loaded cost over the period, line by line, with each line's share."""
    lines = breakdown.group_by("line").agg(line_order=pl.col("line_order").min(), usd=pl.col("usd").sum())
    return lines.with_columns(share=ratio(pl.col("usd"), pl.col("usd").sum())).sort("line_order", "line")


def period_customers(customers: pl.DataFrame) -> pl.DataFrame:
    """Each customer over the period: summed tokens, revenue and allocated cost;
    margin and gross margin from the sums."""
    amounts = ("requests", "input_tokens", "output_tokens", "billed_revenue_usd", "allocated_cost_usd")
    summed = customers.group_by("customer_id").agg(pl.col(c).sum() for c in amounts)
    margin = pl.col("billed_revenue_usd") - pl.col("allocated_cost_usd")
    return summed.with_columns(margin_usd=margin, gross_margin=ratio(margin, pl.col("billed_revenue_usd")))


FOCUS_SERVICE = "AI model serving"


def focus_rows(breakdown: pl.DataFrame, daily: pl.DataFrame, currency: str = "USD") -> pl.DataFrame:
    """The period's cost lines as FOCUS 1.2-shaped rows, one per day and line:
    the charge period is the business day; billed, effective and list cost are
    the line's amount (openbooks prices at rental, with no discounts); GPU
    rental is consumed in GPU-hours; openbooks' own columns are ``x_``-prefixed."""
    days = daily.select("day", "day_start", "day_end", "gpu_hours")
    rows = breakdown.join(days, on="day", how="inner").sort("day", "line_order")
    is_gpu = pl.col("line_order") == pl.col("line_order").min().over("day")  # GPU rental or amortization
    utc = "%Y-%m-%dT%H:%M:%SZ"
    return rows.select(
        ChargePeriodStart=pl.col("day_start").dt.convert_time_zone("UTC").dt.strftime(utc),
        ChargePeriodEnd=pl.col("day_end").dt.convert_time_zone("UTC").dt.strftime(utc),
        BillingCurrency=pl.lit(currency),
        ChargeCategory=pl.when(pl.col("usd") < 0).then(pl.lit("Credit")).otherwise(pl.lit("Usage")),
        ChargeDescription=pl.col("line"),
        BilledCost=pl.col("usd"), EffectiveCost=pl.col("usd"), ListCost=pl.col("usd"),
        ServiceName=pl.lit(FOCUS_SERVICE), ResourceId=pl.col("line"),
        ConsumedQuantity=pl.when(is_gpu).then(pl.col("gpu_hours")).otherwise(None),
        ConsumedUnit=pl.when(is_gpu).then(pl.lit("GPU-hours")).otherwise(None),
        x_BusinessDay=pl.col("day"), x_LineOrder=pl.col("line_order"), x_CostShare=pl.col("share"),
    )
