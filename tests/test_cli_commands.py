"""The command line's shape: one meaning per short flag across commands,
``report`` without ``--date``, ``tables NAME``, the console entry point."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

import pytest
import typer.main

from tests.cli_helpers import DAY, openbooks, published_project


def short_flags() -> dict[str, set[str]]:
    """Each short flag → the (first) long option it stands for, over every command."""
    from openbooks.cli import app

    meanings: dict[str, set[str]] = defaultdict(set)
    group = typer.main.get_command(app)
    commands = [group, *group.commands.values()]
    for command in commands:
        for param in command.params:
            if param.param_type_name != "option":
                continue
            primary = next(o for o in param.opts if o.startswith("--"))
            for short in (o for o in param.opts + param.secondary_opts if len(o) == 2):
                meanings[short].add(primary)
    return meanings


def test_a_short_flag_means_one_thing_in_every_command():
    meanings = short_flags()
    ambiguous = {flag: longs for flag, longs in meanings.items() if len(longs) > 1}
    assert ambiguous == {}
    assert meanings["-f"] == {"--file"} and meanings["-F"] == {"--format"} and meanings["-n"] == {"--limit"}


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    return published_project(tmp_path_factory.mktemp("commands"))


def test_report_without_a_date_rebuilds_the_last_published_day(books, monkeypatch, capsys):
    project = books
    md, html = (project.config.report_dir / f"{DAY}{suffix}" for suffix in (".md", ".html"))
    md.unlink()
    html.unlink()
    outcome = openbooks(monkeypatch, capsys, "report", "--config", str(project.config_path))
    assert outcome.code == 0, outcome
    assert md.exists() and html.exists() and "$87,072" in md.read_text()
    assert outcome.out.startswith(f"report: {md}")


def test_report_without_a_date_and_nothing_published_says_so(project, monkeypatch, capsys):
    from openbooks.flows.store.warehouse import ensure_schema, session

    with session(project.config) as con:
        ensure_schema(con)
    outcome = openbooks(monkeypatch, capsys, "report", "--config", str(project.config_path))
    assert outcome.code == 1 and outcome.err.startswith("error: no day is published in ")


def test_tables_name_shows_that_table_only(monkeypatch, capsys):
    one = openbooks(monkeypatch, capsys, "tables", "daily_economics")
    assert one.code == 0 and "daily_economics" in one.out and "hourly_economics" not in one.out
    raw = openbooks(monkeypatch, capsys, "tables", "raw.node_log")
    assert raw.code == 0 and "raw.node_log" in raw.out and "content_hash" in raw.out
    unknown = openbooks(monkeypatch, capsys, "tables", "daily")
    assert unknown.code == 1 and unknown.err.startswith("error: no table 'daily'; tables: daily_economics")


def test_gen_takes_the_consistent_short_flags(tmp_path, monkeypatch, capsys):
    outcome = openbooks(monkeypatch, capsys, "gen", "-r", "10", "-d", str(DAY), "-o", str(tmp_path), "-F", "csv")
    assert outcome.code == 0, outcome
    assert (tmp_path / "node_log" / f"{DAY}.csv").exists()


def test_the_module_entry_point_and_debug_tracebacks(tmp_path):
    missing = tmp_path / "missing.yaml"
    plain = subprocess.run([sys.executable, "-m", "openbooks.cli", "status", "-c", str(missing)],
                           capture_output=True, text=True)
    assert (plain.returncode, plain.stderr) == (1, f"error: {missing}: config file not found\n")
    usage = subprocess.run([sys.executable, "-m", "openbooks.cli", "query", "--bogus"], capture_output=True, text=True)
    assert usage.returncode == 2 and "No such option: --bogus" in usage.stderr and "Traceback" not in usage.stderr
    debug = subprocess.run([sys.executable, "-m", "openbooks.cli", "--debug", "status", "-c", str(missing)],
                           capture_output=True, text=True)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_query_help_documents_the_one_way_to_read_files(monkeypatch, capsys):
    outcome = openbooks(monkeypatch, capsys, "query", "--help")
    assert outcome.code == 0 and "--allow-file-reads DIR" in outcome.out
    assert "reads no file but the warehouse and writes none" in " ".join(outcome.out.split())


def test_serve_takes_a_day_or_a_day_offset_not_both(project, monkeypatch, capsys):
    config = ("-c", str(project.config_path))
    both = openbooks(monkeypatch, capsys, "serve", *config, "--day", "2025-02-27", "--day-offset", "1")
    assert both.code == 1
    assert both.err_lines == ["error: --day 2025-02-27 and --day-offset 1: give one or the other (--day books that "
                              "day every run, --day-offset N the day N days before the one that ended)"]
    negative = openbooks(monkeypatch, capsys, "serve", *config, "--day-offset", "-2")
    assert (negative.code, negative.err_lines) == (1, ["error: --day-offset -2: expected a number of days >= 0"])
    assert not project.config.warehouse_path.exists()  # refused before anything started


def test_a_caller_that_goes_on_after_a_command_keeps_its_own_exit_code(tmp_path):
    """The console entry ends its process with the command's code; a caller
    that asks it not to (a test session) exits with its own code, whatever the
    command returned."""
    script = (
        "import sys\n"
        "from openbooks.cli import main\n"
        f"sys.argv = ['openbooks', 'status', '-c', {str(tmp_path / 'missing.yaml')!r}]\n"
        "try:\n"
        "    main(end_process=False)\n"
        "except SystemExit as done:\n"
        "    assert done.code == 1\n"
        "sys.exit(0)\n"
    )
    caller = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert caller.returncode == 0, caller.stderr
