"""``openbooks init --kind K`` writes a commented starter config that
``openbooks check`` refuses until its FILL IN paths name files, and passes
once they name real files of that kind (the format fixtures, each written
from its format's documentation; the bundled sample for openbooks' own CSV)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from openbooks.errors import OpenbooksError
from openbooks.generate import write_day
from openbooks.starters import KINDS
from tests.conftest import REPO, SAMPLE
from tests.test_operator import cli

FIXTURES = REPO / "tests" / "fixtures"
DAY = date(2025, 2, 27)


def files_for(tmp_path) -> dict[str, dict[str, str]]:
    """Per kind, per source key: the path that fills the FILL IN line."""
    write_day(DAY, 50, tmp_path / "gen", fmt="csv")
    own = {"node_log": str(SAMPLE / "node_log" / "{date}.csv"),
           "token_counts": str(SAMPLE / "token_counts" / "{date}.csv")}
    return {
        "node_log": own,
        "requests": {**own, "requests": str(tmp_path / "gen" / "requests" / "{date}" / "*.csv")},
        "slurm_sacct": {**own, "node_log": str(FIXTURES / "slurm_sacct" / "sacct_{date}_exported_*.txt")},
        "opencost": {**own, "node_log": str(FIXTURES / "opencost" / "allocation_{date}.json")},
        "focus": {**own, "node_log": str(FIXTURES / "focus" / "focus_{date}.csv")},
        "prometheus": {**own, "token_counts": str(FIXTURES / "prometheus" / "sglang_query_range.json")},
        "litellm": {**own, "requests": str(FIXTURES / "litellm" / "spend_logs_{date}.csv")},
        "openai_usage": {**own, "token_counts": str(FIXTURES / "openai_usage" / "usage_completions_{date}_page*.json")},
    }


def fill_in(text: str, paths: dict[str, str]) -> str:
    """Each ``path: ... # FILL IN`` line of a source replaced by that source's path."""
    lines, source = [], None
    for line in text.splitlines():
        key = re.match(r"^  (\w+):$", line)
        source = key.group(1) if key else source
        if re.match(r"^    path: .*# FILL IN", line):
            line = f"    path: {paths[source]!r}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", KINDS)
def test_a_starter_config_passes_check_once_its_paths_are_filled_in(kind, tmp_path):
    config = tmp_path / "project" / "configs" / "openbooks.yaml"
    said = cli("init", "--kind", kind, "-c", str(config))
    assert f"wrote {config} (a {kind} source)" in said
    text = config.read_text()
    assert text.startswith(f"# openbooks config, started by `openbooks init --kind {kind}`")
    assert f"kind: {kind}" in text or kind in ("node_log", "requests")
    with pytest.raises(OpenbooksError, match="no file matches"):
        cli("check", "-c", str(config))
    config.write_text(fill_in(text, files_for(tmp_path)[kind]))
    output = cli("check", "-c", str(config))
    assert "no problems found" in output, output
    with pytest.raises(OpenbooksError, match="exists already"):
        cli("init", "--kind", kind, "-c", str(config))


def test_an_unknown_kind_is_named_with_the_choices(tmp_path):
    with pytest.raises(OpenbooksError, match=r"--kind 'sqs': expected one of node_log, requests, slurm_sacct"):
        cli("init", "--kind", "sqs", "-c", str(tmp_path / "x.yaml"))
