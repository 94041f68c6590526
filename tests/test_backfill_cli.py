"""``openbooks backfill``: progress, summary, exit code, --only-failed. The
command function is called as the CLI calls it, its output captured."""

from __future__ import annotations

import io
from datetime import date

import pytest
import typer

from openbooks import cli
from openbooks.cli import terminal as cli_terminal
from openbooks.errors import OpenbooksError
from tests.books import published
from tests.conftest import SAMPLE


@pytest.fixture
def terminal(monkeypatch) -> io.StringIO:
    """A wide terminal for the command's output (each summary row on one line)."""
    out = io.StringIO()
    monkeypatch.setattr(cli_terminal, "console", cli_terminal.text_console(file=out, width=400))
    monkeypatch.setattr(cli_terminal, "err", cli_terminal.text_console(file=out, width=400))
    return out


def _summary(output: str) -> dict[str, str]:
    """The summary table's row of each day."""
    return {line.split("│")[1].strip(): line for line in output.splitlines() if line.startswith("│ 2025-")}


def test_backfill_summarises_each_day_exits_1_on_a_failure_and_reruns_only_failed_days(project, terminal):
    inputs = project.copy_sample(days=["2025-02-26", "2025-02-27"])
    empty = inputs / "token_counts" / "2025-02-26.csv"
    empty.write_bytes(b"")

    with pytest.raises(typer.Exit) as info:
        cli.backfill(start="2025-02-25", end="2025-02-27", config=project.config_path)
    assert info.value.exit_code == 1
    output = terminal.getvalue()
    assert "3/3" in output and "2 failed" in output
    rows = _summary(output)
    assert "published" in rows["2025-02-27"]
    assert all(figure in rows["2025-02-27"] for figure in ("$87,072", "$562,027", "545%"))
    assert "failed" in rows["2025-02-26"] and "file is empty (expected a header line and rows)" in rows["2025-02-26"]
    assert "failed" in rows["2025-02-25"] and "no node_log file for 2025-02-25" in rows["2025-02-25"]
    assert "2 of 3 day(s) failed" in output
    assert "openbooks backfill --start 2025-02-25 --end 2025-02-27 --only-failed" in output

    empty.write_bytes((SAMPLE / "token_counts" / "2025-02-26.csv").read_bytes())
    terminal.truncate(0)
    cli.backfill(start="2025-02-26", end="2025-02-27", only_failed=True, config=project.config_path)
    assert list(_summary(terminal.getvalue())) == ["2025-02-26"]
    runs = published(project.config, "SELECT day, status FROM run_log ORDER BY started_at")
    assert runs[3:] == [(date(2025, 2, 26), "published")]


def test_backfill_options_are_checked(project, terminal):
    with pytest.raises(OpenbooksError, match="^--end 2025-02-20 is before --start 2025-02-27: expected start <= end$"):
        cli.backfill(start="2025-02-27", end="2025-02-20", config=project.config_path)
    with pytest.raises(OpenbooksError, match=r"^--runner 'threads': expected local, inline or a Dask scheduler "):
        cli.backfill(start="2025-02-27", end="2025-02-27", runner="threads", config=project.config_path)
    with pytest.raises(OpenbooksError, match="^--start '27/02/2025': expected a date as YYYY-MM-DD$"):
        cli.backfill(start="27/02/2025", end="2025-02-27", config=project.config_path)
