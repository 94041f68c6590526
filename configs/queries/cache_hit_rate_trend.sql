-- Share of input tokens served from the KV cache, per day, with its 7-day average.
SELECT
  day,
  round(cache_hit_rate * 100, 2) AS cache_hit_rate_pct,
  round(avg(cache_hit_rate) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) * 100, 2)
    AS cache_hit_rate_7day_pct,
  input_tokens
FROM daily_economics
ORDER BY day
