"""Measuring a command in a fresh process: wall time, peak memory (its
largest process from ``wait4``, and the sampled sum of its process tree),
exit status and the JSON line it printed; and the fastest of repeated runs.
Used by ``benchmarks/run.py`` and ``benchmarks/backfill_bench.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

GIB = 1 << 30


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def measure(command: list[str], env: dict[str, str], cap: int | None = None) -> dict:
    """Run ``command`` in a fresh process: wall seconds, peak RSS of its largest
    process (``wait4``), sampled peak RSS of the whole tree, exit status and
    the last line it printed. Killed if the tree passes ``cap`` bytes."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, over_cap = [0], [False]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            rss = tree_rss(proc.pid)
            peak[0] = max(peak[0], rss)
            if cap and rss > cap:
                over_cap[0] = True
                proc.kill()
                return
            done.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    result = {
        "command": " ".join(command[-3:]) if len(command) > 3 else " ".join(command),
        "wall_seconds": round(wall, 3),
        "peak_tree_rss_mib": round(peak[0] / (1 << 20), 1),
        "exit_code": proc.returncode,
        "load_before": round(load, 2),
    }
    for line in out.strip().splitlines()[-2:]:  # the command's own JSON line, then the wrapper's
        try:
            result.update(json.loads(line))
        except json.JSONDecodeError:
            pass
    if over_cap[0]:
        result["failed"] = f"stopped: passed the memory cap of {cap / GIB:g} GiB"
    elif proc.returncode != 0:
        result["failed"] = (err.strip().splitlines() or ["exit code %d" % proc.returncode])[-1][-300:]
    return result


# Runs the command as its child and prints the child's own peak RSS (ru_maxrss
# from wait4 covers it and every descendant it waited for) after its output.
WRAPPER = """
import json, os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(p.pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "process_seconds": round(time.perf_counter() - t, 3)}))
sys.exit(code)
"""


def wrapped(command: list[str]) -> list[str]:
    return [sys.executable, "-c", WRAPPER, *command]


def fastest(runs: list[dict]) -> dict:
    """The fastest of repeated runs (the least disturbed by other load), with
    every wall time kept; each task's time is its fastest over the runs."""
    best = dict(min(runs, key=lambda r: r["wall_seconds"]))
    best["all_wall_seconds"] = [r["wall_seconds"] for r in runs]
    best["peak_rss_mib"] = max(r.get("peak_rss_mib", 0) for r in runs)
    best["peak_tree_rss_mib"] = max(r["peak_tree_rss_mib"] for r in runs)
    if all("tasks_seconds" in r for r in runs):
        best["tasks_seconds"] = {t: min(r["tasks_seconds"].get(t, float("inf")) for r in runs)
                                 for t in runs[0]["tasks_seconds"]}
        best["flow_seconds"] = min(r["flow_seconds"] for r in runs)
    return best
