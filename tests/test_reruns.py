"""Re-runs and backfills: idempotent, equal to single runs, late and changed
files picked up, a new price re-prices history, failed days re-run."""

from __future__ import annotations

from datetime import date

import pytest

from openbooks.flows.backfill import failed_days, run_backfill
from openbooks.flows.daily import daily_books
from tests.books import files_bytes, published, tables
from tests.conftest import Project

DAYS = [date(2025, 2, 25), date(2025, 2, 26), date(2025, 2, 27)]


def _state(config) -> dict:
    """Everything a run may change, but run_log."""
    state = tables(config)
    for table in ("raw.files", "raw.node_log", "raw.token_counts", "quarantine", "configs"):
        state[table] = published(config, f"SELECT * FROM {table} ORDER BY ALL")
    state["reports"] = files_bytes(config.report_dir)
    return state


def test_a_backfill_equals_single_runs(project, tmp_path):
    outcomes = run_backfill(DAYS, str(project.config_path))
    assert [(o.day, o.status) for o in outcomes] == [(d, "published") for d in DAYS]

    single = Project(tmp_path / "single")
    single.write_config()
    for day in DAYS:
        daily_books(day, str(single.config_path))
    assert tables(project.config, exclude="run_id") == tables(single.config, exclude="run_id")
    assert published(project.config, "SELECT count(*), count(DISTINCT day) FROM daily_economics") == [(3, 3)]


def test_a_second_backfill_changes_nothing_but_run_log(project):
    run_backfill(DAYS[1:], str(project.config_path))
    before = _state(project.config)
    outcomes = run_backfill(DAYS[1:], str(project.config_path))
    assert [o.status for o in outcomes] == ["unchanged", "unchanged"]
    assert _state(project.config) == before
    statuses = published(project.config, "SELECT day, status FROM run_log ORDER BY started_at")
    assert statuses == [(DAYS[1], "published"), (DAYS[2], "published"), (DAYS[1], "unchanged"), (DAYS[2], "unchanged")]


def test_a_failed_day_does_not_stop_the_others_and_only_failed_days_rerun(project):
    inputs = project.copy_sample(days=[str(d) for d in DAYS])
    path = inputs / "node_log" / "2025-02-26.csv"
    good = path.read_bytes()
    path.write_bytes(good.replace(b",H800,", b",A100,", 1))  # a GPU type with no rental price

    outcomes = run_backfill(DAYS, str(project.config_path))
    assert [o.status for o in outcomes] == ["published", "failed", "published"]
    assert "line 2 column gpu_type: expected a GPU type declared under hardware in the config, got 'A100'" in (
        outcomes[1].reason
    )
    assert failed_days(project.config, DAYS) == [DAYS[1]]

    path.write_bytes(good)
    rerun = run_backfill(failed_days(project.config, DAYS), str(project.config_path))
    assert [(o.day, o.status) for o in rerun] == [(DAYS[1], "published")]
    assert failed_days(project.config, DAYS) == []
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(3,)]


def test_a_new_price_and_a_backfill_reprice_history(project):
    run_backfill(DAYS[1:], str(project.config_path))
    old_hash = project.config.hash
    before = dict(published(project.config, "SELECT day, theoretical_revenue_usd FROM daily_economics"))
    outputs = dict(published(project.config, "SELECT day, output_tokens FROM daily_economics"))

    config = project.write_config({"price_book": {"cards": {"deepseek": {"models": {"deepseek-r1": [
        {"effective_from": "2025-01-20", "input_cache_hit": 0.14, "input_cache_miss": 0.55, "output": 2.50}
    ]}}}}})
    assert config.hash != old_hash
    outcomes = run_backfill(DAYS[1:], str(project.config_path))
    assert [o.status for o in outcomes] == ["published", "published"]
    after = dict(published(config, "SELECT day, theoretical_revenue_usd FROM daily_economics"))
    for day in DAYS[1:]:
        assert after[day] - before[day] == pytest.approx(outputs[day] * (2.50 - 2.19) / 1e6)
    assert published(config, "SELECT DISTINCT config_hash FROM daily_economics") == [(config.hash,)]
    runs = published(config, "SELECT config_hash, count(*) FROM run_log GROUP BY ALL ORDER BY ALL")
    assert sorted(runs) == sorted([(old_hash, 2), (config.hash, 2)])
    kept = dict(published(config, "SELECT config_hash, config_json FROM configs"))
    assert '"output": 2.19' in kept[old_hash] and '"output": 2.5' in kept[config.hash]


def _split_tokens(inputs, late_from: int) -> bytes:
    """Move the token rows from line ``late_from`` on into a second file of the day."""
    path = inputs / "token_counts" / "2025-02-27.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:late_from - 1]))
    return lines[0] + b"".join(lines[late_from - 1:])


def test_a_late_file_for_a_published_day_is_picked_up_by_a_rerun(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    late = _split_tokens(inputs, late_from=74)
    project.write_config({"sources": {
        "node_log": {"path": str(inputs / "node_log" / "{date}.csv")},
        "token_counts": {"path": str(inputs / "token_counts" / "{date}*.csv")},
    }})
    first = daily_books(DAYS[2], str(project.config_path))
    assert first["theoretical_revenue_usd"] < 500_000

    (inputs / "token_counts" / "2025-02-27-late.csv").write_bytes(late)
    second = daily_books(DAYS[2], str(project.config_path))
    assert second["status"] == "published"
    assert second["theoretical_revenue_usd"] == pytest.approx(562_027, abs=1)
    assert published(project.config, "SELECT count(*) FROM raw.token_counts") == [(144,)]
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(1,)]


def test_a_changed_file_is_reloaded_and_the_same_file_is_read_once(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    daily_books(DAYS[2], str(project.config_path))
    files = published(project.config, "SELECT path, content_hash, ingested_at FROM raw.files ORDER BY path")

    daily_books(DAYS[2], str(project.config_path))  # same files: not read again
    assert published(project.config, "SELECT path, content_hash, ingested_at FROM raw.files ORDER BY path") == files

    path = inputs / "token_counts" / "2025-02-27.csv"
    lines = path.read_text().splitlines()
    fields = lines[3].split(",")  # R1 api 12:00 (billed or not, every token counts at R1's price)
    fields[5] = str(int(fields[5]) + 1_000_000)
    lines[3] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")

    row = daily_books(DAYS[2], str(project.config_path))
    assert row["theoretical_revenue_usd"] == pytest.approx(562_027.0 + 2.19, abs=1)
    after = dict(published(project.config, "SELECT path, content_hash FROM raw.files"))
    assert after[str(path)] != dict((p, h) for p, h, _ in files)[str(path)]
    assert published(project.config, "SELECT count(*) FROM raw.token_counts") == [(144,)]
    assert published(project.config, "SELECT status FROM run_log ORDER BY started_at") == [
        ("published",), ("unchanged",), ("published",)
    ]


def test_the_same_content_delivered_twice_under_two_names_counts_once(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    original = inputs / "token_counts" / "2025-02-27.csv"
    (inputs / "token_counts" / "2025-02-27-resent.csv").write_bytes(original.read_bytes())
    project.write_config({"sources": {
        "node_log": {"path": str(inputs / "node_log" / "{date}.csv")},
        "token_counts": {"path": str(inputs / "token_counts" / "{date}*.csv")},
    }})
    row = daily_books(DAYS[2], str(project.config_path))
    assert row["theoretical_revenue_usd"] == pytest.approx(562_027, abs=1)
    # Read once, under the first of its names in sorted order.
    resent = inputs / "token_counts" / "2025-02-27-resent.csv"
    assert published(project.config, "SELECT path FROM raw.files WHERE source = 'token_counts'") == [(str(resent),)]
    assert published(project.config, "SELECT count(*) FROM raw.token_counts") == [(144,)]
