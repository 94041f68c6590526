-- GPU cost per million tokens (input + output), per day. The published tables
-- carry GPU cost per day and hour, not per model, so this is the whole fleet's
-- cost per million tokens of every model served; the revenue side is priced at
-- the reference model's list price.
SELECT
  day,
  reference_model,
  round(gpu_cost_usd / ((input_tokens + output_tokens) / 1e6), 4) AS cost_usd_per_million_tokens,
  round(gpu_cost_usd / (output_tokens / 1e6), 4) AS cost_usd_per_million_output_tokens,
  round(theoretical_revenue_usd / ((input_tokens + output_tokens) / 1e6), 4) AS revenue_usd_per_million_tokens
FROM daily_economics
ORDER BY day
