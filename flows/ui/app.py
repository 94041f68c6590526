"""The UI's Starlette application: its routes, a page's CSV, and its errors as pages.

Starlette (with uvicorn) is the ASGI stack Prefect already installs, so the
UI adds no dependency; its plain routes are all the UI needs (no request
bodies to validate, which is what FastAPI would add). Page handlers are
synchronous: Starlette runs them on its thread pool, and ``Snapshots``
serializes their reads of the warehouse.
"""

from __future__ import annotations

import io
from datetime import date
from html import escape
from urllib.parse import unquote

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from openbooks.config import Config
from openbooks.errors import OpenbooksError, WarehouseBusy
from openbooks.flows.ui import assets, screens, views
from openbooks.flows.ui.access import TokenGate, ui_token
from openbooks.flows.ui.filters import Filters, parse_filters
from openbooks.flows.ui.html import page
from openbooks.flows.ui.snapshot import Snapshots, Tables

NO_STORE = {"cache-control": "no-store"}


def csv_response(frame: pl.DataFrame, name: str) -> Response:
    buffer = io.BytesIO()
    frame.with_columns(pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if t == pl.Object).write_csv(buffer)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}.csv"', **NO_STORE})


def stale_note(tables: Tables) -> str:
    if not tables.stale:
        return ""
    return "The warehouse is busy with a run: these figures are the last ones read, before it."


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OpenbooksError(f"{value!r}: expected a date as YYYY-MM-DD")


class UI:
    def __init__(self, config: Config):
        self.snapshots = Snapshots(config)

    def choices(self) -> dict[str, list[str]]:
        tables = self.snapshots.tables("choices", views.choices).tables
        return {name: [str(v) for v in frame["v"].drop_nulls()] for name, frame in tables.items()}

    def show(self, request: Request, key: str, reader, compose) -> Response:
        """A page: its tables read (or kept), then its CSV when asked (``?csv=NAME``), else its HTML."""
        tables = self.snapshots.tables(key, reader)
        wanted = request.query_params.get("csv")
        if wanted is not None:
            if wanted not in tables.tables or wanted in ("range", "neighbours"):
                return PlainTextResponse(f"no table {wanted!r} on this page\n", status_code=404)
            return csv_response(tables.tables[wanted], wanted)
        title, body = compose(tables.tables)
        crumbs = [("overview", "/" + (parse_filters(request.query_params).query()))]
        return HTMLResponse(page(title, body, crumbs, stale_note(tables)), headers=NO_STORE)

    def overview(self, request: Request) -> Response:
        f = parse_filters(request.query_params)
        return self.show(request, f"overview{f.query()}", views.overview(f),
                         lambda t: screens.overview(t, f, self.choices()))

    def day(self, request: Request) -> Response:
        f, day = parse_filters(request.query_params), parse_day(request.path_params["day"])
        return self.show(request, f"day/{day}{f.query()}", views.day_page(day, f),
                         lambda t: screens.day(day, t, f, self.choices()))

    def model(self, request: Request) -> Response:
        f, name = parse_filters(request.query_params), unquote(request.path_params["name"])
        return self.show(request, f"model/{name}{f.query()}", views.model_page(name, f),
                         lambda t: screens.model(name, t, f, self.choices()))

    def customer(self, request: Request) -> Response:
        f, name = parse_filters(request.query_params), unquote(request.path_params["name"])
        return self.show(request, f"customer/{name}{f.query()}", views.customer_page(name, f),
                         lambda t: screens.customer(name, t, f, self.choices()))

    def hour(self, request: Request) -> Response:
        f, day = parse_filters(request.query_params), parse_day(request.path_params["day"])
        index = request.path_params["index"]
        return self.show(request, f"hour/{day}/{index}{f.query()}", views.hour_page(day, index, f),
                         lambda t: screens.hour(day, index, t, f))


def asset(text_of, media_type: str):
    def serve(request: Request) -> Response:
        text = text_of()
        tag = assets.etag(text)
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers={"etag": tag})
        return Response(text, media_type=media_type, headers={"etag": tag, "cache-control": "no-cache"})
    return serve


async def failure(request: Request, exc: Exception) -> Response:
    status = 503 if isinstance(exc, WarehouseBusy) else 400
    body = page("Cannot show this page", f"<p>{escape(str(exc))}</p>", [("overview", "/")])
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def create_app(config: Config) -> Starlette:
    ui = UI(config)
    routes = [
        Route("/", ui.overview), Route("/day/{day}", ui.day), Route("/model/{name:path}", ui.model),
        Route("/customer/{name:path}", ui.customer), Route("/hour/{day}/{index:int}", ui.hour),
        Route("/assets/ui.css", asset(assets.stylesheet, "text/css; charset=utf-8")),
        Route("/assets/ui.js", asset(assets.script, "text/javascript; charset=utf-8")),
        Route("/assets/vega.js", asset(assets.vega_bundle, "text/javascript; charset=utf-8")),
        Route("/healthz", lambda request: PlainTextResponse("ok\n")),
    ]
    app = Starlette(routes=routes, exception_handlers={OpenbooksError: failure})
    app.state.ui = ui
    token = ui_token()
    return TokenGate(app, token) if token else app


__all__ = ["Filters", "create_app"]
