-- GPU cost, theoretical revenue and margins per business day.
SELECT
  day,
  round(gpu_cost_usd) AS gpu_cost_usd,
  round(theoretical_revenue_usd) AS theoretical_revenue_usd,
  round(cost_profit_margin * 100) AS cost_profit_margin_pct,
  round(gross_margin * 100, 1) AS gross_margin_pct
FROM daily_economics
ORDER BY day
