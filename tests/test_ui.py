"""``openbooks ui`` as a user meets it: a real server process on loopback over a
real warehouse, driven over HTTP and in a real headless Chromium, and read by
50 clients while a backfill publishes."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from openbooks.flows.daily import daily_books
from tests.books import published
from tests.conftest import Project
from tests.ui_server import UIBrowser, UIServer, overflowing

DAYS = [date(2025, 2, 24), date(2025, 2, 25), date(2025, 2, 27)]  # 2025-02-26 left out: a gap


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("ui"))
    project.write_config()
    for day in DAYS:
        daily_books(day, str(project.config_path))
    return project


@pytest.fixture(scope="module")
def server(books):
    ui = UIServer(books.config_path)
    yield ui
    ui.stop()


def csv_rows(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_a_non_loopback_address_is_refused_without_a_token(books):
    env = {k: v for k, v in os.environ.items() if k != "OPENBOOKS_UI_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "openbooks.cli", "ui", "-c", str(books.config_path), "--host",
                           "0.0.0.0", "--port", "0"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert "--host 0.0.0.0: not a loopback address; set OPENBOOKS_UI_TOKEN" in done.stderr + done.stdout


def test_with_a_token_every_request_carries_it(books):
    ui = UIServer(books.config_path, env={"OPENBOOKS_UI_TOKEN": "s3cret-token"})
    try:
        assert ui.get("/").status_code == 401
        assert ui.get("/assets/ui.css").status_code == 401
        assert ui.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert ui.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        opened = ui.get("/day/2025-02-27?token=s3cret-token&model=deepseek-r1")
        assert opened.status_code == 303 and opened.headers["location"] == "/day/2025-02-27?model=deepseek-r1"
        assert "HttpOnly" in opened.headers["set-cookie"]
        assert ui.get("/day/2025-02-27", cookies={"openbooks_ui_token": "s3cret-token"}).status_code == 200
    finally:
        ui.stop()


def test_pages_tables_and_csv_read_the_published_books(books, server):
    page = server.get("/").text
    assert "Overview 2025-02-24 to 2025-02-27" in page and 'href="/day/2025-02-27"' in page
    assert "$87,072.00" in page and "Cost per million tokens" in page
    days = csv_rows(server.get("/?csv=days"))
    shown = {r["day"]: r for r in days if r["published"] == "true"}
    assert sorted(shown) == [str(d) for d in DAYS]  # 2025-02-26 is a row of nulls: a gap, not a line across it
    for day, gpu_cost in published(books.config, "SELECT day, gpu_cost_usd FROM daily_economics"):
        assert float(shown[str(day)]["gpu_cost_usd"]) == pytest.approx(gpu_cost)
    hours = csv_rows(server.get("/day/2025-02-27?csv=hours"))
    assert len(hours) == 24 and sum(float(r["gpu_cost_usd"]) for r in hours) == pytest.approx(87072)
    models = csv_rows(server.get("/?start=2025-02-27&end=2025-02-27&model=deepseek-r1&csv=models"))
    assert [r["model"] for r in models] == ["deepseek-r1"]
    fleet = csv_rows(server.get("/?role=decode&gpu=H800&csv=fleet"))
    assert fleet and {(r["role"], r["gpu_type"]) for r in fleet} == {("decode", "H800")}
    assert server.get("/?start=2025-02-30").status_code == 400
    assert server.get("/day/2025-02-27?csv=nothing").status_code == 404
    assert "not published" in server.get("/day/2025-02-26").text


def test_in_a_browser_navigation_filters_drill_down_and_csv_stay_on_the_machine(books, server, tmp_path):
    shots = Path(os.environ.get("OPENBOOKS_UI_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    browser = UIBrowser(tmp_path / "profile")
    loads = []
    try:
        loads.append(browser.open(server.url + "/"))
        browser.wait_for("document.querySelectorAll('.vega[data-drawn] svg').length === 1")
        browser.screenshot(shots / "ui-overview.png")
        # drill down: overview -> the last day -> its models -> a model's page; and an hour
        day_link = browser.evaluate("document.querySelector('h2 a[href^=\"/day/\"]').href")
        loads.append(browser.open(day_link))
        assert browser.evaluate("document.title").startswith("Day 2025-02-27")
        browser.wait_for("document.querySelectorAll('.vega[data-drawn] svg').length === 1")
        assert browser.evaluate("document.querySelector('a[rel=prev]').getAttribute('href')") == "/day/2025-02-25"
        browser.screenshot(shots / "ui-day.png")
        hour = browser.evaluate("document.querySelector('#hours a[href^=\"/hour/\"]').href")
        loads.append(browser.open(hour))
        assert "Hour 2025-02-27 04:00 UTC" in browser.evaluate("document.querySelector('h1').textContent")
        loads.append(browser.open(day_link))
        model = browser.evaluate("document.querySelector('#models a[href^=\"/model/\"]').href")
        loads.append(browser.open(model))
        browser.wait_for("document.querySelectorAll('.vega[data-drawn] svg').length === 1")
        # filters: fill the form, submit, and the filters are in the URL (empty ones left out)
        loads.append(browser.open(server.url + "/"))
        browser.evaluate("""(() => { const f = document.querySelector('form.filters');
            f.elements.model.value = 'deepseek-v3'; f.elements.role.value = 'decode';
            f.elements.start.value = '2025-02-24'; f.requestSubmit(); })()""")
        browser.wait_for("location.search.includes('model=')")
        browser.wait_for("document.readyState === 'complete'")
        assert browser.evaluate("location.search") == "?start=2025-02-24&model=deepseek-v3&role=decode"
        models = browser.evaluate("[...document.querySelectorAll('#models tbody tr td:first-child')].map(t => t.textContent)")
        assert models == ["deepseek-v3"]
        assert browser.evaluate("document.querySelector('#days a[href^=\"/day/\"]').getAttribute('href')").endswith(
            "?start=2025-02-24&model=deepseek-v3&role=decode")  # drill-downs keep the filters
        # a CSV download, by clicking its link
        browser.evaluate("document.querySelector('#days a.csv').click()")
        downloaded = tmp_path / "profile" / "downloads" / "days.csv"
        for _ in range(100):
            if downloaded.exists():
                break
            time.sleep(0.1)
        assert downloaded.read_text().startswith("day,published,gpu_cost_usd")
        # phone width: nothing wider than the page, tables scroll inside their boxes
        browser.width(400)
        for path, name in (("/", "ui-overview-400.png"), ("/day/2025-02-27", "ui-day-400.png")):
            loads.append(browser.open(server.url + path))
            browser.wait_for("document.querySelectorAll('.vega[data-drawn] svg').length === 1")
            assert overflowing(browser) == [], path
            browser.screenshot(shots / name)
    finally:
        browser.close()
    for load in loads:
        assert load.remote == [] and load.failed == [] and load.errors == [], load


def read_while_publishing(ui: UIServer, days: list[date], seconds: float, clients: int, writer) -> dict:
    """``clients`` threads reading pages for ``seconds`` and until ``writer`` ends; every answer checked."""
    found = {"requests": 0, "errors": [], "half": [], "published_seen": set(), "unpublished_seen": set(),
             "latencies": []}
    lock = threading.Lock()
    began_at = time.monotonic()

    def going() -> bool:
        elapsed = time.monotonic() - began_at
        return elapsed < seconds or (writer.poll() is None and elapsed < 600)
    paths = ["/", "/?csv=days", *(f"/day/{d}" for d in days), *(f"/day/{d}?csv=hours" for d in days)]

    def client(offset: int) -> None:
        with httpx.Client(base_url=ui.url, timeout=60) as http:
            n = offset
            while going():
                path = paths[n % len(paths)]
                n += 1
                began = time.monotonic()
                try:
                    response = http.get(path)
                except httpx.HTTPError as exc:
                    with lock:
                        found["errors"].append(f"{path}: {exc!r}")
                    continue
                problem = check_answer(path, response)
                with lock:
                    found["requests"] += 1
                    found["latencies"].append(time.monotonic() - began)
                    if response.status_code != 200:
                        found["errors"].append(f"{path}: {response.status_code}")
                    elif problem:
                        found["half"].append(f"{path}: {problem}")
                    elif path.startswith("/day/") and "csv" not in path:
                        seen = "unpublished_seen" if "not published" in response.text else "published_seen"
                        found[seen].add(path)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def check_answer(path: str, response: httpx.Response) -> str | None:
    """A day is shown whole (its 24 hours and its headline) or as not published, never in part."""
    if response.status_code != 200 or not path.startswith("/day/"):
        return None
    if "csv" in path:
        count = response.text.count("\n") - 1
        return None if count in (0, 24) else f"{count} hour rows"
    if "not published" in response.text:
        return None
    hours = len(re.findall(r'href="/hour/\d{4}-\d\d-\d\d/\d+"', response.text))
    return None if hours == 24 and "GPU cost" in response.text else f"{hours} hours shown"


def test_fifty_clients_for_thirty_seconds_while_a_backfill_publishes(tmp_path):
    project = Project(tmp_path)
    project.write_config()
    daily_books(date(2025, 2, 27), str(project.config_path))
    ui = UIServer(project.config_path)
    backfill_days = [date(2025, 2, d) for d in range(20, 27)]
    try:
        ui.get("/")  # warm: the bundle and a first read
        backfill = subprocess.Popen(
            [sys.executable, "-m", "openbooks.cli", "backfill", "--start", "2025-02-20", "--end", "2025-02-26",
             "--config", str(project.config_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        began = time.monotonic()
        found = read_while_publishing(ui, backfill_days, seconds=30, clients=50, writer=backfill)
        found["seconds"] = time.monotonic() - began
        output, _ = backfill.communicate(timeout=600)
    finally:
        ui.stop()
    latencies = sorted(found["latencies"])
    print(f"load: {found['requests']} requests in {found['seconds']:.0f} s by 50 clients, p50 {latencies[len(latencies) // 2]:.3f} s, "
          f"p95 {latencies[int(len(latencies) * 0.95)]:.3f} s, max {latencies[-1]:.3f} s; "
          f"backfilled day pages seen unpublished {len(found['unpublished_seen'])}, "
          f"published {len(found['published_seen'])}")
    assert backfill.returncode == 0, output
    assert found["errors"] == [] and found["half"] == []
    assert found["requests"] > 500
    # the readers saw the backfill's days before and after they were published
    assert found["unpublished_seen"] and found["published_seen"]
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(8,)]
