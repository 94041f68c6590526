"""A webhook on loopback for tests: records the JSON bodies posted to it."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


class Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass
