"""Running the real ``openbooks`` entry point (``openbooks.cli:main``) in
this process, as a shell would: arguments in, exit code and both streams out."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from datetime import date

import pytest

from tests.conftest import REPO, Project

DAY = date(2025, 2, 27)


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def openbooks(monkeypatch, capsys, *args: str, stdin: str | None = None) -> Outcome:
    """``openbooks ARGS`` through the console entry point (its error boundary
    included). Commands that run flows go through ``openbooks_process``: a
    flow run inside captured output leaves Prefect's log handler on it."""
    from openbooks.cli import main

    capsys.readouterr()  # drop anything printed before
    # The command sets PREFECT_LOGGING_LEVEL for its process; keep it from
    # leaking into later tests' flow runs.
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", os.environ.get("PREFECT_LOGGING_LEVEL", "INFO"))
    monkeypatch.setattr(sys, "argv", ["openbooks", *args])
    if stdin is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as info:
        main(end_process=False)  # the test session goes on after the command
    captured = capsys.readouterr()
    code = info.value.code
    return Outcome(code if isinstance(code, int) else (0 if code is None else 1), captured.out, captured.err)


def openbooks_process(*args: str) -> Outcome:
    """``python -m openbooks.cli ARGS`` in its own process (for ``run``: its
    own Prefect engine and logging, as from a shell)."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "openbooks.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=600)
    return Outcome(done.returncode, done.stdout, done.stderr)


def published_project(root) -> Project:
    """A project under ``root`` with the reference day published and the shipped saved queries."""
    from openbooks.flows.daily import daily_books

    project = Project(root)
    project.write_config()
    daily_books(DAY, str(project.config_path))
    shutil.copytree(REPO / "configs" / "queries", project.config_path.parent / "queries")
    return project
