"""Margins and rates: one function per formula, as Polars expressions."""

from __future__ import annotations

import polars as pl


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null where the denominator is zero."""
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def cost_profit_margin(revenue: pl.Expr, cost: pl.Expr) -> pl.Expr:
    """DeepSeek's "cost profit margin": revenue / cost - 1 (5.45 is 545%)."""
    return _ratio(revenue, cost) - 1


def gross_margin(revenue: pl.Expr, cost: pl.Expr) -> pl.Expr:
    """(revenue - cost) / revenue (0.845 is 84.5%)."""
    return _ratio(revenue - cost, revenue)


def cache_hit_rate(cache_hit_tokens: pl.Expr, cache_miss_tokens: pl.Expr) -> pl.Expr:
    """Share of input tokens served from the KV cache."""
    return _ratio(cache_hit_tokens, cache_hit_tokens + cache_miss_tokens)


ratio = _ratio  # the null-safe ratio, for transforms that build their own rates
