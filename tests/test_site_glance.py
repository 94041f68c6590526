"""The site's formatting at a glance, on the functions that write it: money one
way, a CSV beside each table, links in cells, the headline strip, gaps."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html import unescape
from urllib.parse import unquote

import polars as pl

from openbooks.flows.report.format import Link, format_value, html_table, markdown_table, money, usd
from openbooks.flows.report.headline import headline_rows, strip_html, with_unit_cost
from openbooks.flows.report.period_charts import every_day


def test_money_is_written_one_way_with_the_sign_before_the_dollar():
    assert money(-361.67) == "-$361.67" and money(-113860.79) == "-$113,860.79"
    assert usd(-113860.79) == "-$113,861" and format_value(-361.67, "${:,.2f}") == "-$361.67"
    assert format_value(0.25, "{:.1%}") == "25.0%" and format_value(None, "${:,.0f}") == "n/a"


def test_each_table_has_its_csv_beside_it_and_day_cells_link_to_their_pages():
    rows = [[Link("2025-02-27", "../2025-02-27.html"), "$87,072"], ["2025-02-26", "-$5"]]
    page = html_table("Days", ["day", "GPU cost"], rows)
    assert page.startswith("<h2>Days</h2>") and '<a href="../2025-02-27.html">2025-02-27</a>' in page
    href = re.search(r'download="days.csv" href="([^"]+)"', page).group(1)
    text = unquote(unescape(href).removeprefix("data:text/csv;charset=utf-8,"))
    assert list(csv.reader(io.StringIO(text))) == [["day", "GPU cost"], ["2025-02-27", "$87,072"], ["2025-02-26", "-$5"]]
    assert "| 2025-02-27 | $87,072 |" in markdown_table(["day", "GPU cost"], rows)  # Markdown: the text


def test_the_headline_strip_sets_each_figure_against_the_median_of_the_days_before():
    daily = pl.DataFrame({
        "day": [date(2025, 2, d) for d in (24, 25, 27)], "gpu_cost_usd": [100.0, 120.0, 132.0],
        "theoretical_revenue_usd": [500.0, 500.0, 550.0], "billed_revenue_usd": [None, None, 200.0],
        "cost_profit_margin": [4.0, 3.2, 3.1], "billed_gross_margin": [0.30, 0.40, 0.36],
        "input_tokens": [10**6, 10**6, 10**6], "output_tokens": [10**6, 10**6, 10**6], "cache_hit_rate": [.5, .5, .6],
    })
    rows = {r["figure"]: r for r in headline_rows(with_unit_cost(daily), date(2025, 2, 27)).iter_rows(named=True)}
    assert rows["gpu_cost_usd"]["median"] == 110.0 and round(rows["gpu_cost_usd"]["change"], 4) == 0.2
    assert round(rows["billed_gross_margin"]["change"], 4) == 0.01 and rows["billed_revenue_usd"]["change"] is None
    assert rows["cost_per_million_tokens_usd"]["value"] == 66.0
    strip = strip_html(headline_rows(with_unit_cost(daily), date(2025, 2, 27)))
    assert "+20.0% vs median of 2 day(s)" in strip and "+1.0 pts vs median of 2 day(s)" in strip
    assert "no earlier days" in strip  # billed revenue: no earlier value


def test_a_day_not_published_is_a_row_of_nulls_between_its_neighbours():
    daily = pl.DataFrame({"day": [date(2025, 2, 24), date(2025, 2, 27)], "gpu_cost_usd": [1.0, 2.0]})
    filled = every_day(daily)
    assert filled["day"].to_list() == [date(2025, 2, d) for d in range(24, 28)]
    assert filled["gpu_cost_usd"].to_list() == [1.0, None, None, 2.0]


def test_tables_prints_markdown_or_one_line_a_column_within_80_columns_of_its_own():
    from typer.testing import CliRunner

    from openbooks.cli import app

    md = CliRunner().invoke(app, ["tables", "cost_breakdown", "--format", "md"])
    assert md.exit_code == 0 and "## cost_breakdown" in md.output
    assert "| `usd` | DOUBLE NOT NULL | cost in USD (a training transfer is negative) |" in md.output
    compact = CliRunner().invoke(app, ["tables", "cost_breakdown", "-F", "compact"])
    assert compact.output.splitlines()[1] == "  day DATE NOT NULL  business day, named by the date it starts on"
    assert CliRunner().invoke(app, ["tables", "-F", "x"]).exit_code != 0
