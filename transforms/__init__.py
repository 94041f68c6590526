"""Pure Polars transforms: frames in, frames out, no I/O and no globals.

The config arrives compiled into frames (``inputs.DayInputs``, built by
``openbooks/config/frames.py``); ``books.compute_day`` runs everything below in one pass.

Modules: calendar (day window, hour grid), checks (input row flags, gaps),
capacity (node-hours, step function, coverage, roles), cost (the rental
formula), pricing (list prices, own-else-"*", theoretical revenue), billing
(time-of-day rules, billed revenue), statements (hourly_economics,
daily_economics), loaded_cost, efficiency, cache, scenarios, waterfall,
claims, customers, models (cost and margin per model), invoices (invoiced GPU
cost against the declared rate), ratios (margins and rates), books (the one
pass), inputs (the compiled config's shape), counters (a Prometheus counter's
day from its raw samples: baseline, restarts, hour booking), whatif (the day
on other hardware and at other prices), forecast (the month ahead and its
budgets).

Roles: prefill, decode, idle, training and serving (prefill and decode on the
same GPUs). Figures that need the prefill/decode split are null ("not
split", efficiency.split) on a day or model with serving node-hours.

Where each figure is computed (module.function):
- hours, hour_start, hour_end ........... calendar.hour_grid; day_start/day_end calendar.day_window
- node_hours, <role>_node_hours ......... capacity.node_hours_by_hour, summed in statements.hourly_economics;
  rows in GPUs: capacity.nodes_from_gpus; a declared fleet's unallocated nodes: capacity.with_fleet (idle)
- gpu_hours, gpu_cost_usd ............... cost.gpu_hours, cost.rental_usd (via cost.gpu_cost)
- peak_nodes; node_steps ................ capacity.node_count_steps (peak: statements.daily_economics)
- avg_nodes, input_tokens, tokens, requests, unpriced_token_rows ... statements.hourly_economics / daily_economics
- node_log_coverage ..................... capacity.coverage_by_hour (whole microseconds)
- theoretical_revenue_usd ............... pricing.theoretical_revenue (pricing.token_revenue_usd, reference_prices)
- cache_hit_rate, cost_profit_margin, gross_margin and every *_margin ... ratios.cache_hit_rate,
  ratios.cost_profit_margin, ratios.gross_margin (in-depth ones applied in books.in_depth_daily)
- billed_revenue_usd .................... billing.bill_tokens (billing.billed_revenue_usd); hourly_billed
- loaded_cost_usd; cost_breakdown ....... loaded_cost.cost_lines (rental, amortization, training_transfer, power,
  declared_lines), loaded_cost.cost_breakdown (share, line_order), loaded_cost.loaded_cost_usd
- training_node_hours_credit_usd ........ cost.role_rental_usd(..., ("training",))
- idle_capacity_node_hours/_share/_usd .. efficiency.idle_capacity_node_hours / _share / _usd
- prefill_input_/decode_output_tokens_per_node_second ... efficiency.tokens_per_node_second
- cost_per_million_input/output_usd ..... efficiency.usd_per_million of efficiency.prefill_cost_usd / decode_cost_usd
- (loaded_)break_even_output_price_usd .. efficiency.usd_per_million
- cache_discount_usd .................... cache.cache_discount_usd
- cache_saved_node_hours/_gpu_hours/_usd  cache.saved_prefill_node_hours, cost.gpu_hours, cost.rental_usd
- invoiced_gpu_cost_usd, invoiced_*margin  invoices.invoiced_daily; gpu_cost_check: invoices.gpu_cost_check
- revenue_waterfall ..................... waterfall.revenue_waterfall (levels: waterfall.waterfall_levels)
- revenue_scenarios ..................... scenarios.cards_revenue, scenarios.revenue_scenarios
- claims_audit .......................... claims.claims_audit (claims.day_figures, claims.verdict)
- customer_economics .................... customers.billed_revenue, customers.role_costs, customers.customer_economics
- scenario_economics .................... whatif.scenario_day (whatif.model_costs, whatif.node_curve,
  whatif.own_card_revenue / other_card_revenue, whatif.with_margins); checked by whatif.reconcile;
  cost per million tokens of a throughput: whatif.usd_per_million_tokens; the long view: whatif.horizon
- the month's forecast, budgets ......... forecast.forecast (forecast.shape, forecast.basis), forecast.budget_breaks
- model_economics ....................... models.model_capacity (cost by model from the node log), models.model_revenue,
  models.model_economics (margins, cost per million); checked against the day by models.reconcile
"""
