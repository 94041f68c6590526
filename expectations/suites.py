"""Reading a suite file: the JSON every suite of this directory (or of
``validation.expectations_dir``) is written in. Great Expectations reads
them in ``flows/checks/validate.py``; a source kind that words its
problems from a suite's ``meta.expected`` reads them here, without GX."""

from __future__ import annotations

import json
from pathlib import Path

from openbooks.errors import ConfigError


def load_suite_file(path: Path) -> dict:
    """A suite file as a dict; a missing or broken file is a ``ConfigError``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: expectation suite not found")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} line {exc.lineno}: invalid JSON in expectation suite ({exc.msg})")
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ConfigError(f"{path}: expected a suite object with a list under 'expectations'")
    return data
