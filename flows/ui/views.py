"""What each page of the UI reads: named tables, each from one SQL statement.

Every reader takes an open read-only connection and returns its tables in
page order; the page shows each one and offers it as CSV. Filters narrow the
tables they apply to (model: models, channels, fleet; customer: customers;
channel: channels; GPU type and role: fleet). Channels and the fleet come
from the raw rows as read (``raw.token_counts``, ``raw.node_log``), within
the published days' bounds: the published tables keep neither channel nor
GPU type.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import polars as pl

from openbooks.flows.ui.filters import Filters
from openbooks.flows.ui.headline import headline

DEFAULT_DAYS = 30
DAY_COLUMNS = """day, gpu_cost_usd, theoretical_revenue_usd, billed_revenue_usd, cost_profit_margin, gross_margin,
    billed_gross_margin, gpu_cost_usd / nullif(input_tokens + output_tokens, 0) * 1e6 AS cost_per_million_tokens_usd,
    cache_hit_rate, input_tokens, output_tokens, requests, node_hours, peak_nodes,
    prefill_node_hours, decode_node_hours, idle_node_hours, training_node_hours, serving_node_hours"""


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or None).pl()


def published_range(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[date | None, date | None]:
    """The filters' dates, or the last ``DEFAULT_DAYS`` days up to the last
    published day (none before the first published day)."""
    known = rows(con, "SELECT min(day) AS first, max(day) AS last FROM daily_economics").row(0, named=True)
    end = f.end or known["last"]
    if f.start or end is None:
        return f.start, end
    return max(end - timedelta(days=DEFAULT_DAYS - 1), min(known["first"], end)), end


def range_table(start: date | None, end: date | None) -> pl.DataFrame:
    return pl.DataFrame({"start": [start], "end": [end]}, schema={"start": pl.Date, "end": pl.Date})


def days(con, start: date, end: date) -> pl.DataFrame:
    """Every day of the range, newest first, published or not (an unpublished day is a gap: nulls)."""
    return rows(con, f"""
        WITH grid AS (SELECT CAST(d AS DATE) AS day FROM generate_series(CAST($1 AS DATE), CAST($2 AS DATE),
                      INTERVAL 1 DAY) AS t(d))
        SELECT grid.day, e.day IS NOT NULL AS published, {DAY_COLUMNS.replace('day,', '', 1)}
        FROM grid LEFT JOIN daily_economics e USING (day) ORDER BY grid.day DESC""", [start, end])


def anomalies(con, start: date, end: date) -> pl.DataFrame:
    return rows(con, """SELECT day, figure, value, median, move, kind, threshold, window_days FROM anomalies
        WHERE day BETWEEN $1 AND $2 ORDER BY day DESC, figure""", [start, end])


def models(con, f: Filters, start: date, end: date) -> pl.DataFrame:
    return rows(con, """SELECT model, sum(gpu_cost_usd) AS gpu_cost_usd, sum(theoretical_revenue_usd)
            AS theoretical_revenue_usd, sum(billed_revenue_usd) AS billed_revenue_usd, sum(margin_usd) AS margin_usd,
            (sum(billed_revenue_usd) - sum(gpu_cost_usd)) / nullif(sum(billed_revenue_usd), 0) AS billed_gross_margin,
            sum(gpu_cost_usd) / nullif(sum(input_tokens) + sum(output_tokens), 0) * 1e6
            AS cost_per_million_tokens_usd, sum(input_tokens)::BIGINT AS input_tokens, sum(output_tokens)::BIGINT AS output_tokens,
            sum(requests)::BIGINT AS requests
        FROM model_economics WHERE day BETWEEN $1 AND $2 AND ($3 IS NULL OR model = $3)
        GROUP BY model ORDER BY gpu_cost_usd DESC, model""", [start, end, f.model])


def customers(con, f: Filters, start: date, end: date) -> pl.DataFrame:
    return rows(con, """SELECT customer_id, sum(billed_revenue_usd) AS billed_revenue_usd,
            sum(allocated_cost_usd) AS allocated_cost_usd, sum(margin_usd) AS margin_usd,
            sum(margin_usd) / nullif(sum(billed_revenue_usd), 0) AS gross_margin, sum(input_tokens)::BIGINT AS input_tokens,
            sum(output_tokens)::BIGINT AS output_tokens, sum(requests)::BIGINT AS requests
        FROM customer_economics WHERE day BETWEEN $1 AND $2 AND ($3 IS NULL OR customer_id = $3)
        GROUP BY customer_id ORDER BY billed_revenue_usd DESC NULLS LAST, customer_id""", [start, end, f.customer])


def channels(con, f: Filters, start: datetime | date, end: datetime | date, hourly: bool = False) -> pl.DataFrame:
    """Tokens by channel and model as read from the token counts, in published days (or one hour)."""
    bounds = "t.hour_start::TIMESTAMPTZ >= $1 AND t.hour_start::TIMESTAMPTZ < $2" if hourly else (
        "e.day BETWEEN $1 AND $2")
    return rows(con, f"""SELECT t.channel, t.model, sum(t.cache_hit_tokens::BIGINT)::BIGINT AS cache_hit_tokens,
            sum(t.cache_miss_tokens::BIGINT)::BIGINT AS cache_miss_tokens, sum(t.output_tokens::BIGINT)::BIGINT AS output_tokens,
            sum(t.requests::BIGINT)::BIGINT AS requests
        FROM raw.token_counts t JOIN daily_economics e
          ON t.hour_start::TIMESTAMPTZ >= e.day_start AND t.hour_start::TIMESTAMPTZ < e.day_end
        WHERE {bounds} AND ($3 IS NULL OR t.channel = $3) AND ($4 IS NULL OR t.model = $4)
        GROUP BY ALL ORDER BY output_tokens DESC NULLS LAST, t.channel, t.model""",
                [start, end, f.channel, f.model])


def fleet(con, f: Filters, start: datetime | date, end: datetime | date, hourly: bool = False) -> pl.DataFrame:
    """Node-hours by GPU type, role and model as read from the node log, in published days (or one hour)."""
    bounds = ("n.interval_start::TIMESTAMPTZ >= $1 AND n.interval_start::TIMESTAMPTZ < $2" if hourly
              else "e.day BETWEEN $1 AND $2")
    return rows(con, f"""SELECT n.gpu_type, n.role, n.model, sum(n.nodes::DOUBLE * epoch(n.interval_end::TIMESTAMPTZ
            - n.interval_start::TIMESTAMPTZ) / 3600) AS node_hours, max(n.nodes::DOUBLE) AS peak_nodes
        FROM raw.node_log n JOIN daily_economics e
          ON n.interval_start::TIMESTAMPTZ >= e.day_start AND n.interval_start::TIMESTAMPTZ < e.day_end
        WHERE {bounds} AND ($3 IS NULL OR n.gpu_type = $3) AND ($4 IS NULL OR n.role = $4)
          AND ($5 IS NULL OR n.model = $5)
        GROUP BY ALL ORDER BY node_hours DESC NULLS LAST, n.gpu_type, n.role, n.model""",
                [start, end, f.gpu, f.role, f.model])


def month_so_far(con, day: date) -> pl.DataFrame:
    """The month of ``day`` up to it, and its run-rate over the whole month."""
    return rows(con, """WITH m AS (SELECT * FROM daily_economics WHERE date_trunc('month', day) = date_trunc('month',
            CAST($1 AS DATE)) AND day <= $1)
        SELECT strftime(CAST($1 AS DATE), '%Y-%m') AS month, count(*) AS published_days,
            day(last_day(CAST($1 AS DATE))) AS days_in_month, sum(gpu_cost_usd) AS gpu_cost_usd,
            sum(theoretical_revenue_usd) AS theoretical_revenue_usd, sum(billed_revenue_usd) AS billed_revenue_usd,
            sum(gpu_cost_usd) / count(*) * day(last_day(CAST($1 AS DATE))) AS gpu_cost_run_rate_usd,
            sum(billed_revenue_usd) / count(*) * day(last_day(CAST($1 AS DATE))) AS billed_revenue_run_rate_usd
        FROM m""", [day])


def overview(f: Filters):
    def read(con) -> dict[str, pl.DataFrame]:
        start, end = published_range(con, f)
        if end is None:
            return {"range": range_table(None, None)}
        tables = {"range": range_table(start, end), "headline": headline(con, end)}
        tables["anomalies"] = anomalies(con, start, end)
        tables["days"] = days(con, start, end)
        tables["month"] = month_so_far(con, end)
        tables["models"] = models(con, f, start, end)
        tables["customers"] = customers(con, f, start, end)
        tables["channels"] = channels(con, f, start, end)
        tables["fleet"] = fleet(con, f, start, end)
        return tables
    return read


def neighbours(con, day: date) -> pl.DataFrame:
    return rows(con, """SELECT (SELECT max(day) FROM daily_economics WHERE day < $1) AS previous,
        (SELECT min(day) FROM daily_economics WHERE day > $1) AS next""", [day])


def hours(con, day: date) -> pl.DataFrame:
    return rows(con, """SELECT hour_start, gpu_cost_usd, theoretical_revenue_usd, billed_revenue_usd,
            cost_profit_margin, gross_margin, cache_hit_rate, avg_nodes, node_hours, input_tokens, output_tokens,
            requests, node_log_coverage
        FROM hourly_economics WHERE day = $1 ORDER BY hour_start""", [day])


def day_page(day: date, f: Filters):
    def read(con) -> dict[str, pl.DataFrame]:
        tables = {"neighbours": neighbours(con, day), "headline": headline(con, day)}
        tables["anomalies"] = anomalies(con, day, day)
        tables["hours"] = hours(con, day)
        tables["models"] = models(con, f, day, day)
        tables["customers"] = customers(con, f, day, day)
        tables["cost_breakdown"] = rows(con, """SELECT line, usd, share FROM cost_breakdown WHERE day = $1
            ORDER BY line_order""", [day])
        tables["channels"] = channels(con, f, day, day)
        tables["fleet"] = fleet(con, f, day, day)
        return tables
    return read


def model_page(model: str, f: Filters):
    def read(con) -> dict[str, pl.DataFrame]:
        start, end = published_range(con, f)
        return {"range": range_table(start, end), "days": rows(con, """
            SELECT day, gpu_cost_usd, theoretical_revenue_usd, billed_revenue_usd, margin_usd, billed_gross_margin,
                cost_per_million_tokens_usd, cache_hit_tokens / nullif(input_tokens, 0) AS cache_hit_rate, input_tokens, output_tokens, requests,
                prefill_node_hours, decode_node_hours, serving_node_hours, idle_node_hours, training_node_hours
            FROM model_economics WHERE model = $1 AND day BETWEEN $2 AND $3 ORDER BY day""", [model, start, end])}
    return read


def customer_page(customer: str, f: Filters):
    def read(con) -> dict[str, pl.DataFrame]:
        start, end = published_range(con, f)
        return {"range": range_table(start, end), "days": rows(con, """
            SELECT day, billed_revenue_usd, allocated_cost_usd, margin_usd, gross_margin, input_tokens,
                cache_hit_tokens / nullif(input_tokens, 0) AS cache_hit_rate, output_tokens, requests
            FROM customer_economics WHERE customer_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day""",
            [customer, start, end])}
    return read


def hour_page(day: date, hour: int, f: Filters):
    """Hour ``hour`` (0 = the first) of the business day: the published hour and the rows read for it."""
    def read(con) -> dict[str, pl.DataFrame]:
        hour_row = rows(con, """SELECT * EXCLUDE (run_id) FROM hourly_economics WHERE day = $1
            ORDER BY hour_start LIMIT 1 OFFSET $2""", [day, hour])
        if hour_row.is_empty():
            return {"hour": hour_row}
        start, end = hour_row["hour_start"][0], hour_row["hour_end"][0]
        return {"hour": hour_row, "channels": channels(con, f, start, end, hourly=True),
                "fleet": fleet(con, f, start, end, hourly=True)}
    return read


def choices(con) -> dict[str, pl.DataFrame]:
    """The values each text filter can take, for the filter bar's suggestions."""
    return {
        "model": rows(con, "SELECT DISTINCT model AS v FROM model_economics WHERE model <> 'unattributed' ORDER BY 1"),
        "channel": rows(con, "SELECT DISTINCT channel AS v FROM raw.token_counts ORDER BY 1"),
        "customer": rows(con, "SELECT DISTINCT customer_id AS v FROM customer_economics ORDER BY 1 LIMIT 500"),
        "gpu": rows(con, "SELECT DISTINCT gpu_type AS v FROM raw.node_log ORDER BY 1"),
    }
