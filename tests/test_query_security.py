"""``openbooks query`` reads the warehouse and nothing else, and writes only
its own ``--output`` file: each attack of issue 15 through the real command
line, on a real published warehouse."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import duckdb
import pytest

from openbooks.flows.daily import daily_books
from tests.books import files_bytes
from tests.cli_helpers import DAY, openbooks
from tests.conftest import Project


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> Project:
    """The reference day published from a copy of the sample inputs (so an
    attack on the inputs would hit the copy, never the bundled files)."""
    project = Project(tmp_path_factory.mktemp("books"))
    project.write_config()
    project.copy_sample(days=[DAY.isoformat()])
    daily_books(DAY, str(project.config_path))
    return project


@pytest.fixture
def run(books, monkeypatch, capsys):
    def query(*args: str):
        return openbooks(monkeypatch, capsys, "query", *args, "--config", str(books.config_path))
    return query


def one_clear_line(outcome, *fragments: str) -> str:
    """The command failed with exit 1 and one ``error:`` line holding
    ``fragments`` (besides DuckDB's ``LINE 1:`` and caret under it), no traceback."""
    assert outcome.code == 1, outcome
    assert "Traceback" not in outcome.err
    pointer = re.compile(r"^error: (LINE \d+: .*|\s*\^+|Did you mean .*|Candidate bindings: .*)$")
    lines = [line for line in outcome.err_lines if not pointer.match(line)]
    assert len(lines) == 1, outcome.err
    (line,) = lines
    assert line.startswith("error: ") and all(f in line for f in fragments), line
    return line


def project_bytes(project: Project) -> dict[str, bytes]:
    """Every file of the project (warehouse, config, reports, inputs), for "nothing changed" checks."""
    return {**files_bytes(project.root), "warehouse": project.config.warehouse_path.read_bytes()}


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 1) TO '{tmp}/x.csv'",
    "EXPORT DATABASE '{tmp}/export'",
    "PRAGMA profiling_output='{tmp}/profile.txt'",
    "PRAGMA enable_profiling='json'; PRAGMA profiling_output='{tmp}/profile.json'; SELECT 1",
    "SET enable_profiling='json'; SET profiling_output='{tmp}/profile.json'; SELECT 1",
    "ATTACH '{tmp}/other.duckdb'",
])
def test_a_query_writes_no_file(run, tmp_path, sql):
    one_clear_line(run(sql.format(tmp=tmp_path)), "query")
    assert list(tmp_path.iterdir()) == []


def test_copy_over_the_report_or_an_input_changes_nothing(books, run):
    before = project_bytes(books)
    report = books.config.report_dir / f"{DAY}.html"
    inputs = books.root / "input" / "token_counts" / f"{DAY}.csv"
    for target in (report, inputs):
        one_clear_line(run(f"COPY (SELECT 'attacker text') TO '{target}' (FORMAT csv, HEADER false, QUOTE '')"),
                       "COPY")
    assert project_bytes(books) == before


@pytest.mark.parametrize("sql, fragment", [
    ("SELECT * FROM read_text('/etc/shadow')", "/etc/shadow"),
    ("SELECT * FROM read_text('/etc/passwd')", "/etc/passwd"),
    ("SELECT * FROM glob('/root/*')", "/root/*"),
    ("SELECT * FROM read_csv('/etc/passwd')", "/etc/passwd"),
    ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
])
def test_a_query_reads_no_file_of_the_machine(run, sql, fragment):
    line = one_clear_line(run(sql), "query failed", fragment)
    assert "root:" not in line


@pytest.mark.parametrize("sql", [
    "INSTALL httpfs", "LOAD httpfs", "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "SET enable_external_access = true", "RESET enable_external_access", "SET lock_configuration = false",
    "SET allowed_directories = ['/']", "SET autoinstall_known_extensions = true",
])
def test_no_extension_and_no_setting_that_undoes_the_lock(run, sql):
    line = one_clear_line(run(sql), "query")
    assert "download" not in line.lower() and "install the required extension" not in line  # nothing fetched


def test_the_lock_holds_without_the_statement_filter(books):
    """DuckDB itself refuses, even SQL that got past the reading-statement check."""
    from openbooks.flows.admin.queries import locked_session

    with locked_session(books.config) as con:
        for sql in ("COPY (SELECT 1) TO '/tmp/openbooks-never.csv'", "SET enable_external_access = true",
                    "SELECT * FROM read_text('/etc/passwd')", "INSTALL httpfs"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
    assert not Path("/tmp/openbooks-never.csv").exists()


def test_a_stack_of_statements_is_refused_before_any_runs(run, tmp_path):
    one_clear_line(run(f"SELECT 1; COPY (SELECT 1) TO '{tmp_path}/x.csv'"), "COPY")
    assert list(tmp_path.iterdir()) == []


def refused_outputs(project: Project) -> dict[str, Path]:
    config = project.config
    warehouse = config.warehouse_path
    return {
        "warehouse": warehouse, "WAL": warehouse.with_name(warehouse.name + ".wal"), "config": config.file,
        "report": config.report_dir / f"{DAY}.md", "reports dir": config.report_dir / "new.csv",
        "input": project.root / "input" / "node_log" / f"{DAY}.csv",
        "new input": project.root / "input" / "node_log" / "2025-02-28.csv",
        "suite": config.expectations_dir / "node_log.json",
    }


@pytest.mark.parametrize("target", ["warehouse", "WAL", "config", "report", "reports dir", "input", "new input",
                                    "suite"])
def test_output_refuses_the_projects_own_files(books, run, target):
    path = refused_outputs(books)[target]
    before = project_bytes(books)
    one_clear_line(run("SELECT 1", "-F", "csv", "-o", str(path)), "--output", "refused")
    assert project_bytes(books) == before
    assert run("SELECT count(*) AS days FROM daily_economics", "-F", "csv").out == "days\n1\n"


def test_output_refuses_a_symlink_to_the_warehouse_and_a_path_through_a_linked_directory(books, run, tmp_path):
    before = project_bytes(books)
    (tmp_path / "innocent.csv").symlink_to(books.config.warehouse_path)
    (tmp_path / "linked").symlink_to(books.config.report_dir, target_is_directory=True)
    for output in (tmp_path / "innocent.csv", tmp_path / "linked" / f"{DAY}.html"):
        line = one_clear_line(run("SELECT 1", "-F", "csv", "-o", str(output)), "refused", "resolves to")
        assert str(output) in line
    assert project_bytes(books) == before


def test_output_is_written_whole_beside_and_renamed_with_the_umask(run, tmp_path):
    output = tmp_path / "out" / "days.csv"
    output.parent.mkdir()
    output.write_text("old content\n")
    old_mask = os.umask(0o022)
    try:
        outcome = run("SELECT day FROM daily_economics", "-F", "csv", "-o", str(output))
    finally:
        os.umask(old_mask)
    assert outcome.code == 0, outcome
    assert output.read_text() == "day\n2025-02-27\n"
    assert [p.name for p in output.parent.iterdir()] == ["days.csv"]  # no temporary file left
    assert stat.S_IMODE(output.stat().st_mode) == 0o644


def test_allow_file_reads_is_the_one_way_to_read_files(run, tmp_path):
    readable = tmp_path / "readable"
    readable.mkdir()
    (readable / "extra.csv").write_text("model,note\ndeepseek-r1,hi\n")
    (readable / "escape.csv").symlink_to("/etc/passwd")
    sql = f"SELECT note FROM read_csv('{readable / 'extra.csv'}')"
    one_clear_line(run(sql), "query failed", "extra.csv")
    allowed = ("--allow-file-reads", str(readable))
    assert run(sql, "-F", "csv", *allowed).out == "note\nhi\n"
    one_clear_line(run("SELECT * FROM read_text('/etc/passwd')", *allowed), "/etc/passwd")
    one_clear_line(run(f"SELECT * FROM read_text('{readable / 'escape.csv'}')", *allowed), "escape.csv")
    one_clear_line(run(f"COPY (SELECT 1) TO '{readable / 'written.csv'}'", *allowed), "COPY")
    assert sorted(p.name for p in readable.iterdir()) == ["escape.csv", "extra.csv"]
