"""What runs the flows: the local Prefect API (``prefect_server``,
``prefect_api``, ``idle_api``, ``api_loss``, ``warm``), the compute
executor (``executor``), the schedule and the serve loop's watcher
(``schedule``, ``next_run``, ``serve_watch``)."""
