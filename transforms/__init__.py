"""Pure Polars transforms: frames in, frames out, no I/O and no globals.

Where each figure is computed:
- calendar.py  the business day window and its hour grid
- checks.py    row flags the input expectations look at (in the day, overlaps, hour grid)
- capacity.py  node-hours by hour, the node-count step function, peak and coverage
- cost.py      GPU-hours and GPU rental cost
- pricing.py   which list price applies to each hour, and revenue from token counts
- ratios.py    margins and rates (cost profit margin, gross margin, cache hit rate)
- economics.py hourly_economics and daily_economics, built from the above
"""
