"""Real servers for source tests, started on loopback in a temp directory:
Debian's Prometheus scraping a small exporter, and Debian's PostgreSQL 15.

Each is a context manager that stops what it started (by process id)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin"),
             key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def require(program: str | Path, package: str) -> str:
    """``program``, or fail the test at once with one line saying what to install."""
    import pytest

    found = shutil.which(str(program))
    if not found:
        pytest.fail(f"{program} not found: Debian's {package} is needed by this test; run "
                    f"'bash tests/install-servers.sh' (or 'apt-get install {package}' as root)", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str, attempts: int = 600, pause: float = 0.1):
    """Poll ``check`` until it returns something truthy (a readiness wait, not a timing assertion)."""
    for _ in range(attempts):
        try:
            result = check()
        except Exception:  # noqa: BLE001 - not ready yet
            result = None
        if result:
            return result
        time.sleep(pause)
    raise RuntimeError(f"gave up waiting for {what}")


class CounterExporter:
    """vLLM-style counters served on loopback, each with its ``_created`` (as
    prometheus-client writes it); values change only when the test says so,
    and ``restart`` starts them all again like a new engine."""

    def __init__(self):
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        self.created: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.lock = threading.Lock()
        self.registry = CollectorRegistry()
        self.registry.register(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """Always the text format 0.0.4, as vLLM serves it: names keep their
        colons (prometheus_client's OpenMetrics output would escape them)."""
        registry = self.registry

        class Metrics(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                body = generate_latest(registry)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Metrics

    def add(self, metric: str, amount: int, **labels: str) -> None:
        key = (metric, tuple(sorted(labels.items())))
        with self.lock:
            self.values[key] = self.values.get(key, 0) + amount
            self.created.setdefault(key, time.time())

    def restart(self, served: dict[str, int] | None = None) -> None:
        """Every counter back to 0 with a new ``_created``; ``served`` (metric → amount, for every
        label set) is what the new engine counts before any scrape can see it at 0."""
        with self.lock:
            now = time.time()
            self.values = {key: (served or {}).get(key[0], 0) for key in self.values}
            self.created = {key: now for key in self.values}

    def value(self, metric: str, **labels: str) -> int:
        return self.values.get((metric, tuple(sorted(labels.items()))), 0)

    def collect(self):
        with self.lock:
            items = sorted(self.values.items())
            created = dict(self.created)
        families: dict[str, CounterMetricFamily] = {}
        for (metric, labels), value in items:
            base = metric.removesuffix("_total")
            family = families.get(base)
            if family is None:
                family = families[base] = CounterMetricFamily(base, f"{base} (test)", labels=[k for k, _ in labels])
            family.add_metric([v for _, v in labels], value, created=created.get((metric, labels)))
        return list(families.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PrometheusServer:
    def __init__(self, root: Path, targets: list[str], scrape_interval: str = "1s"):
        require(PROMETHEUS, "prometheus")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = root / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: {i}\n  scrape_timeout: {i}\n  evaluation_interval: {i}\n"
            "scrape_configs:\n  - job_name: engines\n    static_configs:\n      - targets: {t}\n".format(
                i=scrape_interval, t=json.dumps(targets))
        )
        self.log = open(root / "prometheus.log", "wb")
        self.process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={root / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=100y"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_until(lambda: urllib.request.urlopen(f"{self.url}/-/ready", timeout=1).status == 200, "Prometheus ready")

    def query(self, promql: str, at: float | None = None) -> dict:
        from urllib.parse import urlencode

        params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{urlencode(params)}", timeout=5) as response:
            return json.load(response)

    def query_range(self, promql: str, start: float, end: float, step: float) -> dict:
        """The answer of ``/api/v1/query_range``, as a user saves it (``curl .../query_range?...``)."""
        from urllib.parse import urlencode

        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        with urllib.request.urlopen(f"{self.url}/api/v1/query_range?{urlencode(params)}", timeout=30) as response:
            return json.load(response)

    def latest(self, metric: str) -> list[float]:
        """The newest sample value of each series of ``metric``."""
        return [float(r["value"][1]) for r in self.query(metric)["data"]["result"]]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def backfill(root: Path, openmetrics_text: str) -> None:
    """Historical samples into ``root/tsdb`` with ``promtool`` before the server starts."""
    require(PROMTOOL, "prometheus")
    root.mkdir(parents=True, exist_ok=True)
    source = root / "history.om"
    source.write_text(openmetrics_text)
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(root / "tsdb")],
                   check=True, capture_output=True)


@contextmanager
def prometheus_with_history(root: Path, openmetrics_text: str) -> Iterator[PrometheusServer]:
    """A Prometheus serving the given past samples from its own storage (nothing scraped)."""
    backfill(root, openmetrics_text)
    server = PrometheusServer(root, [])
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def prometheus_with_exporter(root: Path) -> Iterator[tuple[PrometheusServer, CounterExporter]]:
    exporter = CounterExporter()
    server = None
    try:
        server = PrometheusServer(root, [f"127.0.0.1:{exporter.port}"])
        yield server, exporter
    finally:
        if server is not None:
            server.stop()
        exporter.close()


class PostgresServer:
    """PostgreSQL 15 in a temp dir, on loopback, with a password-auth user.
    Run as the ``postgres`` system user when the tests run as root."""

    def __init__(self, root: Path, user: str, password: str, database: str):
        require(PG_BIN / "initdb", "postgresql")
        self.root, self.port, self.user, self.password, self.database = root, free_port(), user, password, database
        self.data = root / "pgdata"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        root.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(root, "postgres")
        pwfile = root / "pw"
        pwfile.write_text("superpass\n")
        if self.as_user:
            shutil.chown(pwfile, "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "admin", "--pwfile", pwfile, "-A", "scram-sha-256",
                  "--auth-local=trust", "-E", "UTF8", "--locale=C")
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", root / "pg.log", "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={root}", "start")
        self.admin(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {database} OWNER {user}")

    def _run(self, *args) -> None:
        subprocess.run([*self.as_user, *map(str, args)], check=True, capture_output=True)

    def admin(self, *statements: str, database: str = "postgres") -> None:
        for statement in statements:
            self._run(PG_BIN / "psql", "-h", self.root, "-p", self.port, "-U", "admin", "-d", database,
                      "-v", "ON_ERROR_STOP=1", "-c", statement)

    def dsn(self, **overrides) -> str:
        parts = {"host": "127.0.0.1", "port": self.port, "dbname": self.database, "user": self.user} | overrides
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def stop(self) -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


@contextmanager
def postgres(user: str = "litellm", password: str = "s3cret-test-pw", database: str = "litellm"):
    """A running server in its own temp dir (pytest's are private to root,
    which the ``postgres`` user cannot enter)."""
    root = Path(tempfile.mkdtemp(prefix="openbooks-pg-"))
    server = PostgresServer(root, user, password, database)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def openbooks_command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The ``openbooks`` command as a user runs it: its own process, its own output."""
    import sys

    return subprocess.run([sys.executable, "-m", "openbooks.cli", *args], capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})


@contextmanager
def dask_cluster(workers: int = 2) -> Iterator[str]:
    """A real ``dask scheduler`` and ``workers`` ``dask worker`` processes
    (one thread each) on 127.0.0.1, from this interpreter's environment; the
    scheduler's address. Stopped (by process id) on exit."""
    import sys

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    folder = Path(tempfile.mkdtemp(prefix="openbooks-dask-"))
    started: list[subprocess.Popen] = []
    log = open(folder / "dask.log", "ab")
    try:
        started.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard"], stdout=log, stderr=log, cwd=folder))
        for n in range(workers):
            started.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--host", "127.0.0.1", "--no-dashboard", "--name", f"worker-{n}",
                 "--local-directory", str(folder / f"worker-{n}")], stdout=log, stderr=log, cwd=folder))
        from distributed import Client

        with Client(address, timeout="120s") as client:
            client.wait_for_workers(workers, timeout=300)
        yield address
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
