"""The failed-runs file beside the warehouse: fixed-size slots, never grown.
(A full disk for real: tests/test_write_errors.py.)"""

from __future__ import annotations

import pytest

from datetime import date

from openbooks.flows.store import failed_runs
from openbooks.flows.store.failed_runs import SLOT_BYTES, SLOTS, FailedRun, decode, encode, journal_path
from openbooks.flows.store.runlog import RunRecord

pytestmark = pytest.mark.pure  # no flow, no command

DAY = date(2025, 2, 27)


def test_a_long_or_non_ascii_reason_is_cut_to_fit_its_slot():
    run = FailedRun("run", "2025-02-27", "2025-02-28T04:30:00+00:00", "2025-02-28T04:31:00+00:00",
                    "configs/openbooks.yaml", "a847c7f891d6", "é disk full " * 400)
    slot = encode(run)
    assert len(slot) == SLOT_BYTES and slot.endswith(b"\n")
    back = decode(slot)
    assert back.reason.startswith("é disk full") and back.reason.endswith("...")
    assert back.run_id == "run" and decode(b" " * (SLOT_BYTES - 1) + b"\n") is None


def test_the_file_never_grows_and_the_oldest_record_gives_way_when_every_slot_is_used(project):
    config = project.config
    assert failed_runs.reserve(config)
    size = journal_path(config.warehouse_path).stat().st_size
    assert size == SLOTS * SLOT_BYTES
    for n in range(SLOTS + 1):
        failed_runs.keep(config, RunRecord(f"run-{n}", DAY, str(config.file), config.hash), f"reason {n}")
    kept = {run.run_id for run in failed_runs.pending(config)}
    assert len(kept) == SLOTS and "run-0" not in kept and f"run-{SLOTS}" in kept
    assert journal_path(config.warehouse_path).stat().st_size == size
