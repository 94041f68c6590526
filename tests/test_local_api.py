"""The project's shared local Prefect API, for real: the first command that
runs a flow starts a server, detached; later commands (and a backfill's worker
processes) report to the same one; a killed server is replaced; two commands
starting at once start one; ``openbooks server stop`` stops it. Each command
is the CLI in a process of its own, with no PREFECT_API_URL, in a project of
its own; no server outlives a test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from openbooks.flows.runtime.prefect_api import read_state, state_dir, use_local_api
from openbooks.flows.runtime.prefect_server import ApiServer, alive, free_port, healthy, stop_group, wait_until_healthy
from openbooks.errors import OpenbooksError

COMMAND_SECONDS = 600


@pytest.fixture
def local(project, tmp_path):
    """The sample project, an environment without Prefect settings, and, at
    the end, whatever server its state names stopped."""
    project.copy_sample(days=["2025-02-25", "2025-02-26", "2025-02-27"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    directory = state_dir(project.config)
    yield project, env, directory
    server = read_state(directory)
    if server is not None and alive(server.pid):
        stop_group(server.pid)


def openbooks(project, env, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "openbooks.cli", *args, "--config", str(project.config_path)],
        cwd=project.root, env=env, capture_output=True, text=True, timeout=COMMAND_SECONDS,
    )
    if check:
        assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def flow_run_names(url: str) -> list[str]:
    request = urllib.request.Request(f"{url}/flow_runs/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return sorted(run["name"] for run in json.load(response))


def test_commands_share_one_server_which_is_replaced_when_killed_and_stopped_on_request(local):
    project, env, directory = local
    first = openbooks(project, env, "run", "--date", "2025-02-27")
    assert "starting the local Prefect API at http://127.0.0.1:" in first.stderr
    server = read_state(directory)
    assert server is not None and healthy(server.url)
    assert os.getpgid(server.pid) == server.pid  # a process group of its own, outliving the command

    second = openbooks(project, env, "backfill", "--start", "2025-02-25", "--end", "2025-02-26")
    assert "starting the local Prefect API" not in second.stderr
    assert read_state(directory) == server
    names = flow_run_names(server.url)  # the run and the backfill (its two days in the one flow run)
    assert len(names) == 2 and "backfill-range-2025-02-25-2025-02-26" in names

    os.killpg(server.pid, signal.SIGKILL)
    assert openbooks(project, env, "server", "status", check=False).returncode == 1
    third = openbooks(project, env, "run", "--date", "2025-02-26")
    assert "is gone; starting a new one" in third.stderr
    replacement = read_state(directory)
    assert replacement.pid != server.pid and healthy(replacement.url)
    assert f"running: {replacement.url} (pid {replacement.pid}, healthy" in openbooks(
        project, env, "server", "status").stdout

    stopped = openbooks(project, env, "server", "stop")
    assert f"stopped: {replacement.url} (pid {replacement.pid})" in stopped.stdout
    assert not alive(replacement.pid) and not healthy(replacement.url, timeout=1)
    assert read_state(directory) is None
    assert "not running: nothing to stop" in openbooks(project, env, "server", "stop").stdout


def test_two_commands_starting_at_once_start_one_server(local):
    project, env, directory = local
    command = [sys.executable, "-m", "openbooks.cli", "server", "start", "--config", str(project.config_path)]
    both = [subprocess.Popen(command, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=COMMAND_SECONDS) for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs
    server = read_state(directory)
    said = sorted(out.split(":")[0] for out, _ in outputs)
    assert said == ["running", "started"]
    assert all(f"{server.url} (pid {server.pid}" in out for out, _ in outputs)


def test_a_prefect_api_url_of_the_users_own_wins(project):
    # The session's harness sets PREFECT_API_URL (a test server): nothing is started.
    from prefect.settings import PREFECT_API_URL

    assert use_local_api(project.config) == PREFECT_API_URL.value()
    assert not state_dir(project.config).exists()


def test_waiting_for_a_server_that_exits_is_an_error_naming_its_log(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    server = ApiServer(f"http://127.0.0.1:{free_port()}/api", gone.pid, tmp_path / "server.log")
    with pytest.raises(OpenbooksError, match=rf"exited before it was ready; its log: {tmp_path}/server.log$"):
        wait_until_healthy(server, seconds=60)
    with pytest.raises(OpenbooksError, match=r"OPENBOOKS_API_STARTUP_SECONDS='soon': expected a number"):
        os.environ["OPENBOOKS_API_STARTUP_SECONDS"] = "soon"
        try:
            wait_until_healthy(server)
        finally:
            del os.environ["OPENBOOKS_API_STARTUP_SECONDS"]


def test_the_shared_server_ends_when_idle_and_when_its_state_folder_is_gone(local):
    project, env, directory = local
    env = {**env, "OPENBOOKS_API_IDLE_MINUTES": "0.25"}  # 15 s without a request
    openbooks(project, env, "server", "start")
    server = read_state(directory)
    status = openbooks(project, env, "server", "status").stdout
    assert f"Prefect UI: {server.url.removesuffix('/api')}\n" in status
    assert "after 0.25 min without a request" in status
    wait_for_exit(server.pid, 120)
    assert "stopping the local Prefect API: no request for 15 s" in server.log.read_text()

    env["OPENBOOKS_API_IDLE_MINUTES"] = "30"
    openbooks(project, env, "server", "start")
    second = read_state(directory)
    assert second.pid != server.pid and healthy(second.url)
    shutil.rmtree(directory)
    wait_for_exit(second.pid, 60)


def wait_for_exit(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not alive(pid), f"pid {pid} still runs after {seconds} s"
