"""``openbooks serve`` says when it runs next, in the schedule's timezone."""

from __future__ import annotations

from datetime import UTC, datetime

from openbooks.flows.runtime.next_run import next_run, next_run_lines
from tests.conftest import Project


def test_the_next_run_is_the_cron_time_after_now_in_the_schedules_timezone(tmp_path):
    config = Project(tmp_path).write_config()  # '30 12 * * *' Asia/Shanghai
    now = datetime(2025, 2, 28, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    assert next_run("30 12 * * *", "Asia/Shanghai", now).isoformat() == "2025-02-28T12:30:00+08:00"
    lines = next_run_lines(config, None, None, now)
    assert lines[0] == "next run: 2025-02-28 12:30 Asia/Shanghai (in 1 h 30 min)"
    assert "openbooks serve --interval 60" in lines[1]
    assert next_run_lines(config, None, 60, now) == ["next run: in 60 s, then every 60 s"]
    late = datetime(2025, 2, 28, 4, 31, tzinfo=UTC)  # 12:31 in Shanghai: tomorrow's
    assert next_run_lines(config, None, None, late)[0].startswith("next run: 2025-03-01 12:30 Asia/Shanghai (in 23 h 59")
