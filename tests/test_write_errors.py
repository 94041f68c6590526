"""A full disk or a read-only directory under the warehouse or the reports:
one line naming the path and what to do, and the run recorded as failed:
in run_log where the warehouse can still be written, else in the
failed-runs file beside it, folded into run_log once there is room.

Full and read-only file systems are real: small tmpfs mounts made for the
test (root only; the test is skipped where mounting is not allowed) and
unmounted after it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from openbooks.flows.store import failed_runs
from openbooks.flows.daily import daily_books
from openbooks.flows.stages.day_run import begin_run
from openbooks.flows.store.runlog import RunRecord
from openbooks.errors import OutputError
from tests.books import files_bytes, published, tables
from tests.cli_helpers import DAY, openbooks_process


@pytest.fixture
def tmpfs(tmp_path):
    """``mount(name, size)``: a tmpfs of ``size`` at ``tmp_path/name``."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        target = tmp_path / name
        target.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
                              capture_output=True, text=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs to make a full or read-only disk: {done.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", str(target)], capture_output=True)


def fill(directory: Path) -> Path:
    """Write to ``directory`` until its file system is full."""
    filler = directory / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def point(project, **paths: str) -> None:
    data = yaml.safe_load(project.config_path.read_text())
    for section, path in paths.items():
        data[section]["dir" if section == "reports" else "path"] = path
    project.config_path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_full_reports_disk_is_one_line_naming_it_and_the_run_is_recorded_failed(project, tmpfs):
    reports = tmpfs("reports", "256k") / "reports"
    project.write_config({"reports": {"data_docs": "always"}})  # GX's site builder writes first
    point(project, reports=str(reports))
    fill(reports.parent)
    done = openbooks_process("run", "--date", DAY.isoformat(), "-c", str(project.config_path))
    assert done.code == 1
    errors = [line for line in done.err_lines + done.out.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {reports / 'data_docs'}: cannot write (the disk is full: free space there or point "
                      "reports.dir at another disk)"], done.err
    assert "Traceback" not in done.err + done.out and "site_builder" not in done.err + done.out
    [(status, reason)] = published(project.config, "SELECT status, error FROM run_log")
    assert status == "failed" and str(reports) in reason and "disk is full" in reason


def test_a_full_or_read_only_warehouse_disk_is_one_line_naming_it(project, tmpfs):
    disk = tmpfs("warehouse", "16M")
    point(project, warehouse=str(disk / "warehouse.duckdb"))
    daily_books(DAY, str(project.config_path))
    filler = fill(disk)
    with pytest.raises(OutputError) as full:
        daily_books(DAY, str(project.config_path))
    assert str(full.value).startswith(f"{disk / 'warehouse.duckdb'}: cannot write (the disk is full")
    assert "\n" not in str(full.value)

    filler.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    with pytest.raises(OutputError) as read_only:
        daily_books(DAY, str(project.config_path))
    assert str(read_only.value) == (f"{disk}: cannot write (the file system is read-only: make it writable or "
                                    "point warehouse.path elsewhere)")


def _status_rows(project, monkeypatch) -> list[str]:
    """``openbooks status``'s lines of the day: its runs' rows, then each failed run's reason on a line of its own."""
    monkeypatch.setenv("COLUMNS", "400")
    done = openbooks_process("status", "-c", str(project.config_path))
    assert done.code == 0, done.err
    return [line for line in done.out.splitlines() if "2025-02-27" in line]


def test_a_run_failed_on_a_full_warehouse_disk_is_recorded_failed_once_there_is_room(project, tmpfs, monkeypatch):
    disk = tmpfs("warehouse", "16M")
    warehouse = disk / "warehouse.duckdb"
    point(project, warehouse=str(warehouse))
    daily_books(DAY, str(project.config_path))  # publishes, and makes the failed-runs file while there is room
    config = project.config
    good, report = tables(config), files_bytes(config.report_dir)
    filler = fill(disk)

    done = openbooks_process("run", "--date", DAY.isoformat(), "-c", str(project.config_path))
    assert done.code == 1
    errors = [line for line in done.err_lines + done.out.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {warehouse}: cannot write (the disk is full: free space there or point "
                      "warehouse.path at another disk)"], done.err
    assert "Traceback" not in done.err + done.out and "TransactionException" not in done.err + done.out
    assert published(config, "SELECT status FROM run_log") == [("published",)]  # the disk took no row
    # While the disk is still full, status shows the run from the file beside the warehouse.
    still_full = _status_rows(project, monkeypatch)
    assert "failed" in still_full[0] and any("disk is full" in line for line in still_full[1:]), still_full

    filler.unlink()
    shown = _status_rows(project, monkeypatch)
    assert len(shown) == 3 and "failed" in shown[0] and "published" in shown[1], shown
    assert f"{warehouse}: cannot write (the disk is full" in shown[2], shown
    runs = published(config, "SELECT status, error FROM run_log ORDER BY started_at")
    assert [s for s, _ in runs] == ["published", "failed"]
    assert runs[1][1] == errors[0].removeprefix("error: ")  # the one-line reason, not "interrupted"
    assert failed_runs.pending(config) == []
    assert tables(config) == good and files_bytes(config.report_dir) == report


def test_a_run_cut_short_by_a_full_warehouse_disk_is_closed_failed_by_the_next_run(project, tmpfs):
    disk = tmpfs("warehouse", "16M")
    point(project, warehouse=str(disk / "warehouse.duckdb"))
    config = project.config
    record = RunRecord("run-cut-short", DAY, str(config.file), config.hash)
    begin_run(config, record)  # its row says 'running' when the disk fills up
    filler = fill(disk)
    failed_runs.record_failed(config, record, f"{config.warehouse_path}: cannot write (the disk is full)")
    assert published(config, "SELECT status FROM run_log") == [("running",)]

    filler.unlink()
    daily_books(DAY, str(project.config_path))
    runs = published(config, "SELECT run_id, status, error FROM run_log ORDER BY started_at")
    assert runs[0] == ("run-cut-short", "failed", f"{config.warehouse_path}: cannot write (the disk is full)")
    assert runs[1][1] == "published" and len(runs) == 2
    assert failed_runs.pending(config) == []
