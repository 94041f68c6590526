"""The economics in depth through the daily flow: real Prefect, DuckDB and GX."""

from __future__ import annotations

from datetime import date

import pytest

from openbooks.flows.daily import daily_books
from tests.conftest import REPO
from tests.test_daily_flow import DAY, published

EXPECTATIONS = REPO / "expectations"


def test_reference_day_in_depth(project):
    config = project.config
    row = daily_books(DAY, str(project.config_path))
    # capacity and efficiency (the reference file's derived figures)
    assert row["idle_capacity_node_hours"] == 1_230
    assert round(row["idle_capacity_share"], 3) == 0.184
    assert row["idle_capacity_usd"] == 19_680
    assert row["training_node_hours"] == 1_230 and row["training_node_hours_credit_usd"] == 19_680
    assert round(row["prefill_input_tokens_per_node_second"], -2) == 73_700
    assert round(row["decode_output_tokens_per_node_second"], -2) == 14_800
    # cache: 342B hits x ($0.55 - $0.14); 342B / (73,700 x 3,600) prefill node-hours
    assert row["cache_discount_usd"] == pytest.approx(140_220)
    assert round(row["cache_saved_node_hours"]) == 1_289 and round(row["cache_saved_gpu_hours"], -2) == 10_300

    scenarios = dict(published(config, "SELECT card, revenue_usd FROM revenue_scenarios"))
    margins = dict(published(config, "SELECT card, gross_margin FROM revenue_scenarios"))
    assert scenarios["deepseek-v3-list"] == pytest.approx(280_523, abs=1)  # ~$280.5k at V3 list prices
    assert round(margins["deepseek-v3-list"], 2) == 0.69
    assert scenarios["deepseek-r1-list"] == pytest.approx(562_027, abs=1)
    assert scenarios["gpt-4o"] == pytest.approx((608e9 * 2.5 + row["output_tokens"] * 10) / 1e6)

    # the waterfall sums to billed revenue to the cent, for all models and each
    sums = published(
        config,
        "SELECT model, round(sum(amount_usd) FILTER (WHERE step_order < 5), 2), "
        "round(sum(amount_usd) FILTER (WHERE step_order = 5), 2) FROM revenue_waterfall GROUP BY model",
    )
    assert len(sums) == 3 and all(steps == billed for _, steps, billed in sums)
    (billed_all,) = [billed for model, _, billed in sums if model == "all"]
    assert billed_all == round(row["billed_revenue_usd"], 2)
    hourly_billed = published(config, "SELECT sum(billed_revenue_usd) FROM hourly_economics")[0][0]
    assert hourly_billed == pytest.approx(row["billed_revenue_usd"])

    verdicts = dict(published(config, "SELECT claim, verdict FROM claims_audit"))
    assert verdicts["Cost profit margin of 545%"] == "confirmed"
    assert verdicts["Gross margin of 84.5% at R1 prices"] == "confirmed"
    assert verdicts["Real gross margins are ~70% for V3"] == "confirmed"
    assert verdicts["Gross margin of ~69% at V3 list prices"] == "confirmed"
    assert verdicts["Idle resource reuse rate of 18.4%"] == "confirmed"
    assert verdicts["Reusing idle capacity saves roughly $78,000 a day"] == "rejected"

    lines = dict(published(config, "SELECT line, usd FROM cost_breakdown"))
    assert lines["GPU rental"] == 87_072
    assert row["loaded_cost_usd"] == pytest.approx(sum(lines.values()))
    html = (config.report_dir / "2025-02-27.html").read_text()
    for title in ("Revenue waterfall", "Cost breakdown", "Price-card scenarios", "Claims audit"):
        assert f"<h2>{title}</h2>" in html
    assert html.count('<figure class="chart">') == 4


def test_owned_hardware_replaces_rental_in_the_loaded_cost(project):
    # 278 nodes (the day's peak) x $250,000 / (4 years x 365 days) = $47,602.74 a day;
    # the 1,230 node-hours lent to training are credited at 8 GPUs x $2: -$19,680.
    project.write_config({"costs": {"compute": "owned",
                                    "owned": {"H800": {"capex_usd_per_node": 250_000, "amortization_years": 4}}}})
    row = daily_books(DAY, str(project.config_path))
    lines = dict(published(project.config, "SELECT line, usd FROM cost_breakdown"))
    assert "GPU rental" not in lines
    assert lines["hardware amortization"] == pytest.approx(278 * 250_000 / (4 * 365))
    assert lines["training transfer"] == -19_680
    # power and the declared lines are unchanged by the compute basis
    assert lines["staff"] == 20_000 and lines["network"] == 5_442 * 0.5
    assert row["loaded_cost_usd"] == pytest.approx(47_602.74 - 19_680 + lines["power"] + 2_721 + 20_000 + 5_000, abs=0.01)
    assert row["gpu_cost_usd"] == 87_072  # the rental figures stand beside it


NODE_LOG = "interval_start,interval_end,model,role,gpu_type,nodes\n{d}T00:00:00+00:00,{n}T00:00:00+00:00,m,decode,H800,1\n"
TOKENS = ("hour_start,model,channel,cache_hit_tokens,cache_miss_tokens,output_tokens,requests\n"
          "{d}T10:00:00+00:00,m,api,0,0,1000000,1\n{d}T10:00:00+00:00,m,web,0,0,1000000,1\n")


def test_a_price_change_mid_range_prices_each_day_at_its_own_price(project):
    # Output at $1 until 2025-03-02, then $2; from 2025-03-03 a 09:30-10:30 window at
    # 50% off cuts the 10:00 hour in half (75% of list). 1M output tokens on the API and
    # 1M on the web each day: billed $1, $2, $1.50; theoretical $2, $4, $4.
    days = [date(2025, 3, d) for d in (1, 2, 3, 4)]
    for source, text in (("node_log", NODE_LOG), ("token_counts", TOKENS)):
        (project.root / "in" / source).mkdir(parents=True)
        for day, following in zip(days, days[1:]):
            (project.root / "in" / source / f"{day}.csv").write_text(text.format(d=day, n=following))
    price = {"input_cache_hit": 0.0, "input_cache_miss": 0.0}
    project.write_config(replace={
        "business_day": {"timezone": "UTC", "start": "00:00"},
        "sources": {s: {"path": str(project.root / "in" / s / "{date}.csv")} for s in ("node_log", "token_counts")},
        "hardware": {"H800": {"gpus_per_node": 8, "rental_usd_per_gpu_hour": 2.0}},
        "price_book": {
            "card": "book", "reference_model": "m", "billable_channels": ["api"],
            "cards": {"book": {
                "models": {"m": [{"effective_from": "2025-01-01", "effective_to": "2025-03-02", "output": 1.0, **price},
                                 {"effective_from": "2025-03-02", "output": 2.0, **price}]},
                "rules": [{"name": "morning", "start": "09:30", "end": "10:30", "discount": 0.5,
                           "effective_from": "2025-03-03"}],
            }},
        },
        "validation": {"expectations_dir": str(EXPECTATIONS)},
    })
    rows = [daily_books(day, str(project.config_path)) for day in days[:3]]
    assert [r["billed_revenue_usd"] for r in rows] == pytest.approx([1.0, 2.0, 1.5])
    assert [r["theoretical_revenue_usd"] for r in rows] == pytest.approx([2.0, 4.0, 4.0])
    waterfall = published(project.config, "SELECT day, step, amount_usd FROM revenue_waterfall "
                                          "WHERE model = 'all' ORDER BY day, step_order")
    assert [a for d, s, a in waterfall if d == days[2]] == [4.0, 0.0, -2.0, -0.5, 1.5]
    assert published(project.config, "SELECT count(*) FROM claims_audit") == [(0,)]
