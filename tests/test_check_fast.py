"""``openbooks check`` runs nothing, so it imports neither Prefect nor (once
the suites were built) Great Expectations: under 3 s of CPU on the sample.
Each check is the CLI in a process of its own; CPU time is the child's."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from openbooks.errors import OpenbooksError
from tests.test_operator import cli

PROBE = (
    "import sys\n"
    "from openbooks.cli.boundary import run_program\n"
    "code = run_program(sys.argv[1:])\n"
    "heavy = sorted(m for m in ('prefect', 'great_expectations') if m in sys.modules)\n"
    "print('imported:', ','.join(heavy) or 'none')\n"
    "sys.exit(code)\n"
)


def check_in_a_process(project) -> tuple[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", PROBE, "check", "--config", str(project.config_path)],
                          cwd=project.root, capture_output=True, text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stdout + done.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout, cpu


def test_check_imports_neither_prefect_nor_gx_once_the_suites_were_built(project):
    project.copy_sample()
    first, first_cpu = check_in_a_process(project)
    assert "no problems found" in first and "imported: great_expectations\n" in first
    second, cpu = check_in_a_process(project)
    assert "no problems found" in second and "imported: none\n" in second
    print(f"check CPU time: first {first_cpu:.2f} s, then {cpu:.2f} s")
    assert cpu < 3.0


def test_a_changed_suite_is_built_again_and_a_bad_cron_named(project, tmp_path):
    import json
    import shutil

    from tests.conftest import REPO

    suites = tmp_path / "expectations"
    shutil.copytree(REPO / "expectations", suites)
    project.write_config({"validation": {"expectations_dir": str(suites)}})
    cli("check", "--config", str(project.config_path))
    suite = json.loads((suites / "node_log.json").read_text())
    suite["expectations"][0]["type"] = "expect_column_to_be_purple"
    (suites / "node_log.json").write_text(json.dumps(suite))
    with pytest.raises(OpenbooksError, match=r"node_log.json: expectations\[1\] \(expect_column_to_be_purple\)"):
        cli("check", "--config", str(project.config_path))
    project.write_config({"validation": {"expectations_dir": str(suites)}, "schedule": {"cron": "61 12 * * *"}})
    with pytest.raises(OpenbooksError, match=r"schedule.cron: invalid cron string .*, got '61 12 \* \* \*'"):
        cli("check", "--config", str(project.config_path))
