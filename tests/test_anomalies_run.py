"""A published day's anomalies: a row in the warehouse's ``anomalies`` table,
lines in ``openbooks run``'s output and a webhook post (a real HTTP server on
loopback), never a failed run."""

from __future__ import annotations

import threading
from datetime import date
from http.server import HTTPServer

from openbooks.flows.daily import daily_books
from tests.books import published
from tests.cli_helpers import openbooks
from tests.webhook import Webhook

DAYS = ["2025-02-26", "2025-02-27"]


def test_a_margin_past_the_threshold_is_recorded_printed_and_posted(project, monkeypatch, capsys):
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        inputs = project.copy_sample(days=DAYS)
        project.write_config({
            "sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")},
            "notifications": {"webhook_url": f"http://127.0.0.1:{server.server_port}/hook"},
            # one earlier day is the trailing window; any move of a tenth of a point is past the threshold
            "anomalies": {"window_days": 7, "min_days": 1, "threshold_points": 0.001, "threshold_relative": 0.001},
        })
        Webhook.received.clear()
        daily_books(date.fromisoformat(DAYS[0]), str(project.config_path))
        assert Webhook.received == []  # no trailing day yet: no anomaly
        outcome = openbooks(monkeypatch, capsys, "run", "--date", DAYS[1], "--config", str(project.config_path))
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.code == 0
    first, second = published(project.config, "SELECT day, gross_margin FROM daily_economics ORDER BY day")
    rows = published(project.config, "SELECT day, figure, value, median, kind FROM anomalies WHERE figure = 'gross_margin'")
    assert abs(second[1] - first[1]) > 0.001  # the sample's margin moves between the two days
    assert rows == [(date(2025, 2, 27), "gross_margin", second[1], first[1], "points")]
    assert any(line.startswith("2025-02-27 Gross margin") for line in outcome.out.splitlines())
    (payload,) = Webhook.received
    assert payload["day"] == "2025-02-27" and "gross_margin" in [a["figure"] for a in payload["anomalies"]]
    assert (project.config.report_dir / "index.html").exists()
