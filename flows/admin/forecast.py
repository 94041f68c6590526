"""The month ahead from the warehouse: the published days a forecast rests
on, read for ``transforms.forecast``."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from openbooks.config import Config
from openbooks.errors import OpenbooksError
from openbooks.flows.store.warehouse import frame, session
from openbooks.transforms.forecast import FIGURES, SHAPE_WEEKS, forecast


def published_figures(config: Config, first: date, last: date, model: str = "all") -> pl.DataFrame:
    """``day`` and ``FIGURES`` of the published days from ``first`` to ``last``, in total or for one model."""
    columns = ", ".join(FIGURES)
    with session(config, read_only=True) as con:
        if model == "all":
            return frame(con, f"SELECT day, {columns} FROM daily_economics WHERE day BETWEEN ? AND ? ORDER BY day",
                         [first, last])
        return frame(con, f"SELECT day, {columns} FROM model_economics WHERE model = ? AND day BETWEEN ? AND ? "
                          "ORDER BY day", [model, first, last])


def month_forecast(config: Config, first: date, last: date, as_of: date | None, model: str = "all") -> pl.DataFrame:
    """The month from ``first`` to ``last`` projected as of ``as_of`` (default:
    the last published day up to the month's end)."""
    until = min(as_of or last, last)
    rows = published_figures(config, first - timedelta(weeks=SHAPE_WEEKS), until, model)
    if rows.is_empty():
        raise OpenbooksError(f"no published day{'' if model == 'all' else f' of model {model}'} up to {until} "
                             f"to project {first:%Y-%m} from: run some first (openbooks run --date D)")
    if as_of is None and rows["day"].max() < first:
        until = rows["day"].max()
    return forecast(rows, first, last, max(until, rows["day"].max()) if as_of is None else until)
