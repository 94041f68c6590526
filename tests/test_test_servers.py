"""The test run's own plumbing: a server that is not installed fails its
tests at once with one line, and a process the run leaves behind is found."""

from __future__ import annotations

import subprocess

import pytest

from tests.leftovers import still_running
from tests.servers import require


def test_a_missing_server_fails_at_once_with_one_line_saying_what_to_install():
    with pytest.raises(pytest.fail.Exception) as failed:
        require("/nonexistent/bin/prometheus", "prometheus")
    message = str(failed.value)
    assert "\n" not in message
    assert message == ("/nonexistent/bin/prometheus not found: Debian's prometheus is needed by this test; run "
                       "'bash tests/install-servers.sh' (or 'apt-get install prometheus' as root)")
    assert not failed.value.pytrace


def test_a_process_left_running_by_the_run_is_found_even_when_detached():
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        assert process.pid in still_running(grace_seconds=0)
    finally:
        process.kill()
        process.wait()
    assert process.pid not in still_running(grace_seconds=0)


def test_multiprocessings_resource_tracker_of_pytest_itself_is_not_a_leftover():
    """It reads a pipe from pytest's process and ends with it: not a server left behind."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    tracker = resource_tracker._resource_tracker._pid
    assert tracker is not None
    assert tracker not in still_running(grace_seconds=0)
