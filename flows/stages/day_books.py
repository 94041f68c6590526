"""A day's books, and its charts with them: what a range computes for each
day in the executor (``flows.executor``), and a run of one day in
its own process. Pure computing: nothing here reads or writes the warehouse."""

from __future__ import annotations

import polars as pl

from openbooks.flows.stages import compute as compute_mod
from openbooks.flows.store import publish
from openbooks.flows.store.books import Books, DayWindow
from openbooks.flows.report.sections.charts import draw
from openbooks.config import Config
from openbooks.transforms.api_spend import api_spend_table


def books_of(config: Config, window: DayWindow, node_log: pl.DataFrame, token_counts: pl.DataFrame,
             customers: pl.DataFrame | None = None, invoices: pl.DataFrame | None = None,
             api_spend: pl.DataFrame | None = None) -> Books:
    """The day's books (``flows.compute``); with request-level usage, its
    customers too; with hosted-API spend, that spend beside the GPU cost."""
    books = compute_mod.compute_books(config, window, node_log, token_counts, invoices)
    if customers is not None:
        books.customers = compute_mod.customer_books(config, books, customers)
    if api_spend is not None:
        books.api_spend = api_spend_table(api_spend, float(books.daily["gpu_cost_usd"][0]))
    return books


def charts_of(config: Config, books: Books) -> tuple[str, ...]:
    """The day's charts as its report draws them, from the tables as they will be published."""
    tables = {table.name: frame for table, frame in publish.staged_frames(books, "", config.hash).items()}
    return draw(tables, config.business_day.timezone)


def books_and_charts(config: Config, window: DayWindow, node_log: pl.DataFrame, token_counts: pl.DataFrame,
                     customers: pl.DataFrame | None = None,
                     invoices: pl.DataFrame | None = None,
                     api_spend: pl.DataFrame | None = None) -> tuple[Books, tuple[str, ...]]:
    """``books_of`` and ``charts_of`` the day, in one job."""
    books = books_of(config, window, node_log, token_counts, customers, invoices, api_spend)
    return books, charts_of(config, books)
