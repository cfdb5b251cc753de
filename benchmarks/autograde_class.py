"""Benchmark: a class of N sample submissions graded by nbgrader's serial autograde and by
tools/autograde_parallel.py, in two fresh temporary courses. Prints both times, the seconds per submission,
the speed-up, and a per-phase breakdown (the kernel's boot and how much of it the notebook waited for,
imports, each graded cell, nbgrader's own steps) for the slowest submission and on average, from the timing
that grading/safe_execute.py records in each autograded notebook; checks that both gradebooks hold the
same rows.

    python benchmarks/autograde_class.py [--students 20] [--workers N] [--only serial|parallel]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import course
from tools import autograde_parallel, prepare_data, submissions
from course import ASSIGNMENT, gradebook_rows


def make_class(folder, data, n):
    course.copy_course(folder, data)
    source_nb, release_nb = course.read(course.source_nb(folder)), course.read(course.release_nb(folder))
    kinds = list(submissions.samples(source_nb).items())
    for i in range(n):
        name, (answers, _, _) = kinds[i % len(kinds)]
        submissions.write_submission(folder, f"{name}_{i:03d}", submissions.fill(release_nb, answers))


def timings(folder):
    """student -> the timing grading/safe_execute.py recorded in the autograded notebook."""
    result = {}
    for path in sorted((folder / "autograded").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")):
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"]
        result[path.parts[-3]] = meta.get("lab2_grading", {}).get("timing", {})
    return result


def phases(timing, wall=None):
    """The phases of one notebook, in seconds."""
    cells = timing.get("cells", [])
    graded = [(label, s) for _, label, s in cells if label not in ("setup", "student code")]
    rest = [s for _, label, s in cells if label in ("setup", "student code")]
    row = {"kernel boot (overlaps the previous notebook)": timing.get("kernel_boot", 0.0),
           "kernel wait (this notebook)": timing.get("kernel_wait", 0.0),
           "setup cell (imports)": sum(s for _, label, s in cells if label == "setup"),
           "answer cells": sum(rest) - sum(s for _, label, s in cells if label == "setup"),
           "graded cells (visible + probe + judgement)": sum(s for _, s in graded),
           "grading driver total": timing.get("total", 0.0)}
    if wall is not None:
        row["nbgrader's own steps (wall - driver)"] = wall - timing.get("total", 0.0)
        row["wall per submission"] = wall
    return row, graded


def report(name, folder, seconds, n):
    stamps = timings(folder)
    order = sorted(stamps, key=lambda s: stamps[s].get("started_at", 0))
    walls = {}
    if name == "serial":  # from one notebook's start to the next one's (the last: to the end of the run)
        end = stamps[order[0]]["started_at"] + seconds if order else 0
        starts = [stamps[s]["started_at"] for s in order] + [max(end, stamps[order[-1]]["started_at"])]
        walls = {s: starts[i + 1] - starts[i] for i, s in enumerate(order)}
    slowest = max(stamps, key=lambda s: walls.get(s, stamps[s].get("total", 0)))
    print(f"\n{name}: {n} submissions in {seconds:.1f} s ({seconds / n:.2f} s per submission)")
    rows = {s: phases(stamps[s], walls.get(s))[0] for s in stamps}
    slow_row, graded = phases(stamps[slowest], walls.get(slowest))
    print(f"  {'phase':46s} {'mean s':>8s} {'slowest s':>10s}  ({slowest})")
    for phase in slow_row:
        mean = statistics.mean(r[phase] for r in rows.values() if phase in r)
        print(f"  {phase:46s} {mean:8.2f} {slow_row[phase]:10.2f}")
    print("  graded cells of the slowest: " + ", ".join(f"{label} {s:.2f}" for label, s in graded))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--only", choices=("serial", "parallel"))
    args = parser.parse_args()
    n, modes = args.students, [args.only] if args.only else ["serial", "parallel"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(prepare_data.build_mnist_folder(tmp / "data"))
        courses, seconds, failures = {}, {}, {}
        for mode in modes:
            courses[mode] = tmp / mode
            courses[mode].mkdir()
            make_class(courses[mode], tmp / "data", n)
        if "serial" in modes:
            start = time.time()
            subprocess.run(["nbgrader", "autograde", ASSIGNMENT, "--log-level=ERROR"], cwd=courses["serial"],
                           check=True, capture_output=True)
            seconds["serial"] = time.time() - start
        if "parallel" in modes:
            start = time.time()
            failures = autograde_parallel.autograde_parallel(courses["parallel"], workers=args.workers)
            seconds["parallel"] = time.time() - start
        print(f"\n{n} submissions on {os.cpu_count()} cores")
        for mode in modes:
            report(mode if mode == "serial" else f"parallel ({args.workers} workers)", courses[mode], seconds[mode], n)
        if len(modes) == 2:
            rows = {mode: set(gradebook_rows(courses[mode])) for mode in modes}
            same = rows["serial"] == rows["parallel"]
            for row in sorted(rows["serial"] ^ rows["parallel"]):
                print(f"  differs ({'serial' if row in rows['serial'] else 'parallel'}): {row}")
            print(f"\nspeed-up {seconds['serial'] / seconds['parallel']:.2f}x; failures {failures or 'none'}; "
                  f"same gradebook rows: {same}")
            if not same or failures:
                sys.exit(1)


if __name__ == "__main__":
    main()
