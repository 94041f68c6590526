"""Vega-Lite specs the browser draws with the bundle openbooks serves: values on
hover, zoom and pan on the time axis (drag, wheel; double-click resets).

A day or hour with no value is a gap in its line, never a line drawn across it.
"""

from __future__ import annotations

import polars as pl

from openbooks.flows.report.palette import SERIES

HEIGHT = 240


def long_values(frame: pl.DataFrame, x: str, series: tuple[str, ...]) -> list[dict]:
    """One point per (x, series), None where the figure is missing."""
    points = []
    for row in frame.select(x, *series).iter_rows(named=True):
        for key in series:
            value = row[key]
            points.append({"x": str(row[x]), "series": SERIES[key][0],
                           "value": None if value is None else round(float(value), 2)})
    return points


def line_chart(title: str, frame: pl.DataFrame, x: str, series: tuple[str, ...], unit: str = "USD",
               time_unit: str | None = None) -> dict:
    """Lines of ``series`` over ``x`` (a date or a timestamp), one colour per quantity."""
    labels = [SERIES[key][0] for key in series]
    x_field = {"field": "x", "type": "temporal", "title": None}
    if time_unit:
        x_field["timeUnit"] = time_unit
    return {
        "title": title,
        "width": "container",
        "height": HEIGHT,
        "data": {"values": long_values(frame, x, series)},
        "mark": {"type": "line", "point": True, "invalid": "break-paths-show-domains", "tooltip": True},
        "encoding": {
            "x": x_field,
            "y": {"field": "value", "type": "quantitative", "title": unit},
            "color": {"field": "series", "type": "nominal", "title": None,
                      "scale": {"domain": labels, "range": [SERIES[key][1] for key in series]},
                      "legend": {"orient": "bottom", "columns": 2}},
            "tooltip": [{"field": "x", "type": "temporal", "title": "when",
                         "format": "%Y-%m-%d %H:%M" if time_unit else "%Y-%m-%d"},
                        {"field": "series", "title": "series"},
                        {"field": "value", "type": "quantitative", "format": ",.2f", "title": unit}],
        },
        "params": [{"name": "zoom", "select": {"type": "interval", "encodings": ["x"]}, "bind": "scales"}],
        "config": {"font": "system-ui, sans-serif", "axis": {"labelFontSize": 11, "titleFontSize": 11},
                   "legend": {"labelFontSize": 12}, "title": {"fontSize": 13}, "background": None},
    }
