#!/usr/bin/env python3
"""Sync (``def``) handlers against async ones, in one run: how close is a thread to the loop?

    python3 benchmarks/handlers.py                  # 3 interleaved reps of 10,000 tasks each
    python3 benchmarks/handlers.py --quick          # 1 rep of 2,000
    python3 benchmarks/handlers.py --against HEAD~2 # the same four, also on an earlier revision

Four handlers, each draining pre-enqueued tasks in one worker process at concurrency 10 on
PostgreSQL (workload (c) of run.py): an async no-op, a ``def`` no-op, an async handler that
awaits ``asyncio.sleep(0.001)`` and a ``def`` one that calls ``time.sleep(0.001)``. The
machine is shared and noisy, so the figures that matter are the ratios taken within one
repetition (sync / async, run back to back), whose median is reported. ``--against`` checks
the revision out like compare.py does and interleaves its runs with the current tree's.
Writes benchmarks/results/handlers.md and .json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import run
from compare import worktree
from run import HERE, RESULTS, SYSTEMS, VENV_SPECS, Runner, ensure_venv, fmt, med, result_key, rotate, venv_python

# (variant of systems/tasker_sys.py, label); None is the async no-op
KINDS = [(None, "async no-op"), ("synchandler", "sync no-op"),
         ("sleep", "async 1 ms asyncio.sleep"), ("syncsleep", "sync 1 ms time.sleep")]
PAIRS = [("no-op", "synchandler", None), ("1 ms sleep", "syncsleep", "sleep")]   # (name, sync, async)


def ratios(results: dict, system: str, sync: str, asynchronous: str | None) -> list[float]:
    """sync / async rate of each repetition in which both ran."""
    by_rep = {r["rep"]: r["rate"] for r in results.get(result_key(system, "process", asynchronous), []) if "rate" in r}
    return [r["rate"] / by_rep[r["rep"]] for r in results.get(result_key(system, "process", sync), [])
            if "rate" in r and by_rep.get(r["rep"])]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int)
    p.add_argument("--n", type=int)
    p.add_argument("--against", help="an earlier revision to run beside the current tree")
    p.add_argument("--out", default=os.path.join(RESULTS, "handlers"))
    args = p.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    n = args.n or (2000 if args.quick else 10000)
    systems = [("tasker-pg", "current")]
    if args.against:
        earlier = worktree(args.against)
        label = "@" + os.path.basename(earlier)
        VENV_SPECS["tasker-earlier"] = {"python": "3.11", "with_tasker": True, "packages": [], "src": os.path.join(earlier, "src")}
        SYSTEMS["tasker-earlier"] = {**SYSTEMS["tasker-pg"], "venv": "tasker-earlier"}
        systems.append(("tasker-earlier", label))
    runner = Runner(args, tempfile.mkdtemp(prefix="tasker-handlers-"))
    for venv in dict.fromkeys(SYSTEMS[s]["venv"] for s, _ in systems):
        reason = ensure_venv(venv, runner.log)
        if reason:
            runner.log(f"venv {venv} unusable: {reason}")
            return 2
    admin = [venv_python("tasker"), os.path.join(HERE, "lib", "admin.py")]
    subprocess.run(admin + ["create"], check=True)
    current = run.git_state()
    started = time.time()
    try:
        for rep in range(1, reps + 1):
            runner.log(f"== repetition {rep}/{reps}")
            # A sync kind right after its async twin, so that each ratio compares neighbours in time.
            units = [(system, variant) for variant, _ in KINDS for system, _ in systems]
            for system, variant in rotate(units, 2 * (rep - 1) * len(systems)):
                runner.run(system, "process", rep, variant, n=n, concurrency=10)
    finally:
        subprocess.run(admin + ["drop"])
    lines = [f"# Sync against async handlers: Tasker {current}", "",
             f"One worker process, concurrency 10, PostgreSQL, {n:,} pre-enqueued tasks per run; {reps} interleaved "
             f"repetition(s), medians; {(time.time() - started) / 60:.1f} min. The machine is shared: compare ratios.", "",
             "| handler | " + " | ".join(f"{label} tasks/s" for _, label in systems) + " |",
             "|---|" + "---|" * len(systems)]
    for variant, what in KINDS:
        lines.append(f"| {what} | " + " | ".join(fmt(med(runner.results, result_key(s, "process", variant), "rate"))
                                               for s, _ in systems) + " |")
    summary: dict[str, dict[str, float | None]] = {}
    for name, sync, asynchronous in PAIRS:
        cells = []
        for system, label in systems:
            values = ratios(runner.results, system, sync, asynchronous)
            ratio = statistics.median(values) if values else None
            summary.setdefault(label, {})[name] = ratio
            cells.append("-" if ratio is None else f"**{ratio:.2f}**  ({', '.join(f'{v:.2f}' for v in values)})")
        lines.append(f"| sync / async, {name} (per repetition) | " + " | ".join(cells) + " |")
    report = "\n".join(lines) + "\n"
    with open(args.out + ".md", "w") as fh:
        fh.write(report)
    with open(args.out + ".json", "w") as fh:
        json.dump({"revision": current, "n": n, "reps": reps, "ratios": summary, "results": runner.results}, fh, indent=1)
    print()
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
