"""``openbooks gen``'s documented demo books a sensible day: its node log is
the sample fleet scaled to the generated requests, so cost and revenue keep
the published day's proportion (a margin near 545%, not -98%); the claims,
about DeepSeek's own day, are left out of it as docs/request-logs.md says."""

from __future__ import annotations

from datetime import date

from openbooks.flows.daily import daily_books
from openbooks.generate import fleet_share
from tests.conftest import base_config_data
from tests.test_operator import cli

DAY = date(2025, 2, 27)
N = 200_000


def test_the_gen_demo_books_a_day_in_the_published_proportion(project, tmp_path):
    out = tmp_path / "gen"
    said = cli("gen", "--requests", str(N), "--date", str(DAY), "--out", str(out))
    assert f"a node log ({fleet_share(N):.2%} of the sample fleet)" in said
    data = base_config_data()
    data["sources"] = {"node_log": {"path": str(out / "node_log" / "{date}.csv")},
                       "requests": {"path": str(out / "requests" / "{date}" / "*.parquet")}}
    data.pop("claims", None)
    project.write_config(replace=data)
    row = daily_books(DAY, str(project.config_path))
    assert abs(row["gpu_cost_usd"] - 87_072 * N / 300_000_000) < 1
    assert 4.5 < row["cost_profit_margin"] < 7.0, row["cost_profit_margin"]
    print(f"gen demo, {N:,} requests: GPU cost ${row['gpu_cost_usd']:,.2f}, "
          f"theoretical revenue ${row['theoretical_revenue_usd']:,.2f}, margin {row['cost_profit_margin']:.0%}")
