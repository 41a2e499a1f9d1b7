#!/usr/bin/env python3
"""Tasker against an earlier Tasker, in one run: did a change make it faster or slower?

    python3 benchmarks/compare.py HEAD~3            # any git revision; 3 interleaved reps
    python3 benchmarks/compare.py f30ebb0 --quick   # 1 rep, small counts

The revision is checked out into benchmarks/.worktrees/REV (git-ignored) and gets a venv
whose .pth points at its src/; both trees run the same workload drivers (the current
systems/tasker_sys.py, which uses the public API only), interleaved and rotated each
repetition. Prints medians and current / earlier ratios (for latency: earlier / current,
so above 1 is better), and writes benchmarks/results/compare.md.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import run
from run import HERE, RESULTS, ROOT, SYSTEMS, VENV_SPECS, Runner, ensure_venv, fmt, med, plan_sizes, result_key, rotate, venv_python

# (workload, variant, the field compared, higher is better)
WORKLOADS = [
    ("enqueue_one", None, "rate", True),
    ("enqueue_one", "async", "rate", True),
    ("enqueue_bulk", None, "rate", True),
    ("process", None, "rate", True),
    ("process", "synchandler", "rate", True),
    ("latency", None, "p50_ms", False),
    ("latency", None, "p99_ms", False),
]


def worktree(rev: str) -> str:
    """The tree of ``rev`` under benchmarks/.worktrees (made once, moved to ``rev`` each run)."""
    sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", rev], capture_output=True, text=True, check=True).stdout.strip()
    path = os.path.join(HERE, ".worktrees", sha)
    if not os.path.exists(path):
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", path, sha], check=True, capture_output=True)
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rev", help="the earlier revision (git rev)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int)
    p.add_argument("--out", default=os.path.join(RESULTS, "compare"))
    args = p.parse_args()
    sizes = plan_sizes(args.quick)
    reps = args.reps or sizes["reps"]
    earlier = worktree(args.rev)
    label = os.path.basename(earlier)
    VENV_SPECS["tasker-earlier"] = {"python": "3.11", "with_tasker": True, "packages": [], "src": os.path.join(earlier, "src")}
    SYSTEMS["tasker-earlier"] = {**SYSTEMS["tasker-pg"], "venv": "tasker-earlier", "label": f"Tasker PG @{label}"}
    tmp = tempfile.mkdtemp(prefix="tasker-compare-")
    runner = Runner(args, tmp)
    for venv in ("tasker", "tasker-earlier"):
        reason = ensure_venv(venv, runner.log)
        if reason:
            runner.log(f"venv {venv} unusable: {reason}")
            return 2
    admin = [venv_python("tasker"), os.path.join(HERE, "lib", "admin.py")]
    subprocess.run(admin + ["create"], check=True)
    current = run.git_state()
    runner.log(f"comparing {current} (current) with {label}; reps={reps}")
    started = time.time()
    try:
        for rep in range(1, reps + 1):
            for workload, variant, _field, _higher in dict.fromkeys((w, v, None, None) for w, v, _, _ in WORKLOADS):
                size = {"enqueue_one": sizes["a"], "enqueue_bulk": sizes["b"], "process": sizes["c"], "latency": sizes["d"]}[workload]
                extra = {"batch": 1000} if workload == "enqueue_bulk" else {"gap": 0.02} if workload == "latency" else {}
                for system in rotate(["tasker-pg", "tasker-earlier"], rep - 1):
                    runner.run(system, workload, rep, variant, n=size, concurrency=10, **extra)
    finally:
        subprocess.run(admin + ["drop"])
    lines = [f"# Tasker {current} against {label}", "",
             f"{reps} interleaved repetition(s), medians; sizes {sizes}; {(time.time() - started) / 60:.1f} min.", "",
             f"| workload | metric | @{label} | current | current vs earlier |", "|---|---|---|---|---|"]
    for workload, variant, field, higher in WORKLOADS:
        before = med(runner.results, result_key("tasker-earlier", workload, variant), field)
        after = med(runner.results, result_key("tasker-pg", workload, variant), field)
        unit = "ms" if field.endswith("_ms") else ""
        change = "-" if not before or not after else f"×{(after / before if higher else before / after):.2f}"
        lines.append(f"| {workload}{'[' + variant + ']' if variant else ''} | {field} | {fmt(before, unit)} | {fmt(after, unit)} | {change} |")
    report = "\n".join(lines) + "\n"
    with open(args.out + ".md", "w") as fh:
        fh.write(report)
    print()
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
