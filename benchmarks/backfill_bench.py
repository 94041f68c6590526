"""The start-up and backfill part of the benchmark (issue 13's targets), each
command in a fresh process against one warm local Prefect API:

- the import floor: a process that only imports prefect, great_expectations,
  polars, duckdb and typer;
- one day's run: ``openbooks run`` of the bundled aggregate reference day on a
  fresh warehouse, as a ratio to the floor (target: <= 1.5);
- a backfill of N aggregate days made with ``openbooks sample``, as a ratio
  to one day's run (target for 30 days: <= 2), each the fastest of
  ``--repeat`` runs on a fresh warehouse, as one day's run is;
- where a run spends its time before its first task (``benchmarks/startup.py``).

Used by ``benchmarks/run.py``; nothing here asserts a time.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
REFERENCE_DAY = date(2025, 2, 27)
FLOOR_IMPORTS = "import prefect, great_expectations, polars, duckdb, typer"


def priced_from(data: dict, first_day: date) -> dict:
    """The config with every list price in force from ``first_day`` at the
    latest. The sample's year starts before DeepSeek-R1's list price (2025-01-20),
    and a day with tokens of a model without a price fails (rightly); the
    benchmark times days that publish."""
    for card in data["price_book"]["cards"].values():
        for entries in card["models"].values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if "effective_from" in entry and date.fromisoformat(str(entry["effective_from"])) > first_day:
                    entry["effective_from"] = first_day.isoformat()
    return data


def aggregate_project(folder: Path, sample_dir: Path, first_day: date = REFERENCE_DAY) -> Path:
    """A project in ``folder`` on the aggregate logs under ``sample_dir``, priced
    from ``first_day`` (``priced_from``); its config path."""
    data = priced_from(yaml.safe_load((ROOT / "configs" / "openbooks.yaml").read_text()), first_day)
    data["sources"] = {s: {"path": str(sample_dir / s / "{date}.csv")} for s in ("node_log", "token_counts")}
    data["warehouse"] = {"path": "run/warehouse.duckdb"}
    data["reports"] = {"dir": "run/reports"}
    data["validation"] = {"expectations_dir": str(ROOT / "expectations")}
    if data.get("claims", {}).get("path"):
        data["claims"]["path"] = str((ROOT / "configs" / data["claims"]["path"]).resolve())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "openbooks.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "openbooks.cli", *args]


def one_day_runs(measure, wrapped, env: dict, folder: Path, repeat: int) -> dict:
    """``openbooks run`` of the reference day on a fresh warehouse, ``repeat`` times."""
    config = aggregate_project(folder, ROOT / "data" / "sample")
    runs = []
    for _ in range(repeat):
        shutil.rmtree(folder / "run", ignore_errors=True)
        runs.append(measure(wrapped(cli("run", "--date", REFERENCE_DAY.isoformat(), "--config", str(config))), env))
    return {"runs": runs, "config": config}


def backfill_runs(measure, wrapped, env: dict, folder: Path, days: int, runner: str, repeat: int) -> list[dict]:
    """``openbooks backfill`` of ``days`` aggregate days ending on the reference
    day, each of ``repeat`` times on a fresh warehouse (as one day's run is)."""
    start = REFERENCE_DAY - timedelta(days=days - 1)
    sample_dir = folder / "input"
    if not (sample_dir / "node_log" / f"{start}.csv").exists():
        shutil.rmtree(sample_dir, ignore_errors=True)
        measure(cli("sample", "--out", str(sample_dir), "--start", start.isoformat(), "--days", str(days)), env)
    config = aggregate_project(folder, sample_dir, start)
    command = cli("backfill", "--start", start.isoformat(), "--end", REFERENCE_DAY.isoformat(),
                  "--runner", runner, "--config", str(config))
    runs = []
    for _ in range(repeat):
        shutil.rmtree(folder / "run", ignore_errors=True)
        runs.append({"days": days, "runner": runner, **measure(wrapped(command), env)})
    return runs


def startup_section(measure, wrapped, fastest, env: dict, work: Path, args) -> dict:
    """The floor, one day's run, the backfills and their ratios (see the module's docstring)."""
    floor = fastest([measure(wrapped([sys.executable, "-c", FLOOR_IMPORTS]), env) for _ in range(args.repeat)])
    print(f"  import floor        {floor['wall_seconds']:8.2f} s", flush=True)
    day = one_day_runs(measure, wrapped, env, work / "one-day", args.repeat)
    one = fastest(day["runs"])
    print(f"  one day's run       {one['wall_seconds']:8.2f} s  {one['all_wall_seconds']}", flush=True)
    section = {"import_floor": floor, "one_day": one,
               "ratio_one_day_to_import_floor": round(one["wall_seconds"] / floor["wall_seconds"], 3)}
    breakdown = measure([sys.executable, str(BENCH / "startup.py"), str(day["config"]), REFERENCE_DAY.isoformat()],
                        env)
    section["before_first_task"] = breakdown
    for days in args.backfill_days:
        result = fastest(backfill_runs(measure, wrapped, env, work / f"backfill-{days}", days, args.backfill_runner,
                                       args.repeat))
        result["ratio_to_one_day"] = round(result["wall_seconds"] / one["wall_seconds"], 3)
        section[f"backfill_{days}_days"] = result
        print(f"  {days}-day backfill   {result['wall_seconds']:8.2f} s  "
              f"({result['ratio_to_one_day']}x one day's run, --runner {args.backfill_runner}) "
              f"{result['all_wall_seconds']}", flush=True)
    return section
