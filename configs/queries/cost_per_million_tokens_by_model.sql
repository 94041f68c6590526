-- GPU cost per million tokens, per day and model (model_economics): each
-- model carries the GPU cost of its own prefill and decode node-hours from
-- the node log; idle node-hours are on the 'unattributed' row, which has no
-- tokens and is left out here. Revenue per million is the model's billed
-- revenue (its own price, billable channels, time-of-day rules applied).
SELECT
  day,
  model,
  round(gpu_cost_usd, 2) AS gpu_cost_usd,
  round(cost_per_million_tokens_usd, 4) AS cost_usd_per_million_tokens,
  round(cost_per_million_input_usd, 4) AS cost_usd_per_million_input_tokens,
  round(cost_per_million_output_usd, 4) AS cost_usd_per_million_output_tokens,
  round(billed_revenue_usd / nullif((input_tokens + output_tokens) / 1e6, 0), 4) AS billed_revenue_usd_per_million_tokens
FROM model_economics
WHERE model <> 'unattributed'
ORDER BY day, model
