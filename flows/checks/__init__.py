"""What a day must pass before it publishes: the Great Expectations suites
(``validate``, ``range_validate``), the physical bounds (``plausibility``),
and what moved against the usual level (``anomalies``)."""
