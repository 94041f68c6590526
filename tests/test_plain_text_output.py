"""Data and messages print as text, never as Rich markup or emoji codes: a
model named ``[/x] [bold]:x:`` goes through ``run``, ``status`` and
``query`` literally, through the real entry point."""

from __future__ import annotations

import pytest

from tests.books import edit_line
from tests.cli_helpers import DAY, openbooks, openbooks_process, published_project

NAME = "[/x] [bold]:x:"


@pytest.fixture
def marked_up(project):
    """A day whose token counts name the model ``[/x] [bold]:x:`` on line 6."""
    inputs = project.copy_sample(days=[DAY.isoformat()])
    edit_line(inputs / "token_counts" / f"{DAY}.csv", 6, lambda fields: [fields[0], NAME, *fields[2:]])
    return project


def test_a_model_named_like_markup_prints_literally_in_run_status_and_query(marked_up, monkeypatch, capsys):
    config = ("--config", str(marked_up.config_path))
    run = openbooks_process("run", "--date", str(DAY), *config)
    assert run.code == 1 and "Traceback" not in run.err and "MarkupError" not in run.err
    assert f"got '{NAME}'" in run.err

    status = openbooks(monkeypatch, capsys, "status", *config)
    assert status.code == 0, status
    assert "failed" in status.out and "[/x]" in status.out and "[bold]:x:'" in status.out  # the reason wraps

    quarantine = openbooks(monkeypatch, capsys, "query", "SELECT value, reason FROM quarantine", *config)
    assert quarantine.code == 0, quarantine
    assert NAME in quarantine.out and "1 row" in quarantine.out


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    return published_project(tmp_path_factory.mktemp("plain"))


def test_a_query_result_prints_markup_and_emoji_codes_literally(books, monkeypatch, capsys):
    sql = "SELECT ':x: [bold]b[/bold]' AS \"[red]c[/red]\""
    outcome = openbooks(monkeypatch, capsys, "query", sql, "--config", str(books.config_path))
    assert outcome.code == 0, outcome
    assert ":x: [bold]b[/bold]" in outcome.out and "[red]c[/red]" in outcome.out
    assert "❌" not in outcome.out


def test_an_error_message_holding_markup_prints_literally(project, monkeypatch, capsys):
    outcome = openbooks(monkeypatch, capsys, "report", "--date", "[bold]:x:", "--config", str(project.config_path))
    assert outcome.code == 1 and outcome.err == "error: --date '[bold]:x:': expected a date as YYYY-MM-DD\n"
