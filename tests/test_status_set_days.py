"""``openbooks status`` on a set backfill: its days start and finish together,
so each shows its share of the set's time, marked ``(set)``, not the whole
set's time as if each day had taken it; a day run alone shows its own. The
table fits 80 columns."""

from __future__ import annotations

from datetime import date

from openbooks.flows.admin.run_history import SET_NOTE, recent_runs
from openbooks.flows.backfill import run_backfill
from openbooks.flows.daily import daily_books
from openbooks.flows.store.warehouse import session
from tests.test_operator import cli


def test_a_set_backfills_days_show_their_share_of_the_sets_time(project):
    project.copy_sample(days=["2025-02-25", "2025-02-26", "2025-02-27"])
    run_backfill([date(2025, 2, 26), date(2025, 2, 27)], str(project.config_path))
    daily_books(date(2025, 2, 25), str(project.config_path))
    with session(project.config, read_only=True) as con:
        spans = dict(con.execute("SELECT day, finished_at - started_at FROM run_log").fetchall())
    rows = {row[0]: row for row in recent_runs(project.config, 10)}
    set_share = f"{spans[date(2025, 2, 26)].total_seconds() / 2:.1f} s (set)"
    assert rows[date(2025, 2, 26)][3] == rows[date(2025, 2, 27)][3] == set_share
    assert rows[date(2025, 2, 25)][3] == f"{spans[date(2025, 2, 25)].total_seconds():.1f} s"
    output = cli("status", "--config", str(project.config_path))
    assert SET_NOTE in output and set_share in output
    assert all(len(line.rstrip()) <= 80 for line in output.splitlines()), output
