-- Serving capacity left unused: idle node-hours, and the gap between the peak
-- and the average of the serving node count (node_steps: the day's step function).
SELECT
  d.day,
  d.peak_nodes,
  round(d.avg_nodes, 2) AS avg_nodes,
  round(d.peak_nodes * d.hours - d.node_hours, 2) AS node_hours_below_peak,
  round(1 - d.node_hours / (d.peak_nodes * d.hours), 4) AS share_below_peak,
  round(d.idle_node_hours, 2) AS idle_node_hours,
  s.min_nodes
FROM daily_economics d
JOIN (SELECT day, min(nodes) AS min_nodes FROM node_steps GROUP BY day) s USING (day)
ORDER BY d.day
