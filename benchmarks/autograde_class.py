"""Benchmark: a class of N sample submissions graded in fresh temporary courses, each of these ways:

- serial: nbgrader's own `nbgrader autograde` (SQLite);
- sqlite: tools/autograde_parallel.py on the SQLite gradebook (private copies, then the merge of their rows,
  tools/gradebook_merge.py; the merge's seconds are printed on their own);
- postgres: tools/autograde_parallel.py on a PostgreSQL gradebook (the workers write their rows straight in);
- shards: the class as --shards processes of `tools/autograde_parallel.py --shard I/N --workers 1` at once, on
  one PostgreSQL gradebook (as N machines would, here on one);
- slurm: the class as the Slurm job array of deploy/slurm/autograde.sbatch (its 10 shards, `sbatch
  --cpus-per-task=1`: as many tasks at once as this machine has cores) on a throwaway one-node Slurm
  (tools/scratch_slurm.py), on a PostgreSQL gradebook; against `postgres` it gives the engine's overhead per
  submission (scheduling, a worker started per task, the shards' uneven split).

Prints each time, the seconds per submission and per submission-core (the cost), a per-phase breakdown (the
kernel's boot and how much of it the notebook waited for, imports, each graded cell, nbgrader's own steps) for the
slowest submission and on average, from the timing that grading/safe_execute.py records in each autograded
notebook, a projection for 1,000 students on N machines from the cost per submission, and checks that every
gradebook holds the same rows. The PostgreSQL server is a throwaway one (tools/scratch_postgres.py, with fsync on,
as a real server), unless $LAB2_DB_URL names one (its database must be empty).

    python benchmarks/autograde_class.py [--students 20] [--workers N] [--modes serial sqlite postgres shards slurm]
                                         [--shards 2]
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
from tools import autograde_parallel, gradebook_merge, prepare_data, submissions
from tools.scratch_postgres import ScratchPostgres
from tools.scratch_slurm import ScratchSlurm
from course import ASSIGNMENT, DB_URL_VARIABLE, gradebook_rows

MODES = ("serial", "sqlite", "postgres", "shards", "slurm")


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


def report(name, folder, seconds, n, serial=False):
    stamps = timings(folder)
    order = sorted(stamps, key=lambda s: stamps[s].get("started_at", 0))
    walls = {}
    if serial:  # from one notebook's start to the next one's (the last: to the end of the run)
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


def rows_of(folder, url):
    old = os.environ.pop(DB_URL_VARIABLE, None)
    if url:
        os.environ[DB_URL_VARIABLE] = url
    try:
        return set(gradebook_rows(folder))
    finally:
        os.environ.pop(DB_URL_VARIABLE, None)
        if old is not None:
            os.environ[DB_URL_VARIABLE] = old


def generate(folder, url):
    """The assignment into the course's gradebook (the PostgreSQL one when `url`)."""
    env = {k: v for k, v in os.environ.items() if k != DB_URL_VARIABLE}
    if url:
        env[DB_URL_VARIABLE] = url
    subprocess.run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=ERROR"], cwd=folder,
                   env=env, check=True, capture_output=True)
    return env


def run(mode, folder, url, workers, shards):
    """Grade the class in `folder` one way; (seconds, failures, merge seconds, when it started)."""
    env = generate(folder, url)
    merged = []
    start = time.time()
    if mode == "serial":
        subprocess.run(["nbgrader", "autograde", ASSIGNMENT, "--log-level=ERROR"], cwd=folder, env=env, check=True,
                       capture_output=True)
        return time.time() - start, {}, None, start
    if mode == "shards":
        tool = str(course.ROOT / "tools" / "autograde_parallel.py")
        procs = [subprocess.Popen([sys.executable, tool, "--shard", f"{i}/{shards}", "--workers", "1"], cwd=folder,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                 for i in range(shards)]
        outs = [p.communicate()[0] for p in procs]
        failures = {f"shard {i}": out for i, (p, out) in enumerate(zip(procs, outs)) if p.returncode != 0}
        return time.time() - start, failures, None, start
    if mode == "slurm":
        return slurm_array(folder, env) + (None, start)
    merge = gradebook_merge.merge

    def timed_merge(*args):
        t = time.time()
        merge(*args)
        merged.append(time.time() - t)
    gradebook_merge.merge = timed_merge
    old = os.environ.pop(DB_URL_VARIABLE, None)
    if url:
        os.environ[DB_URL_VARIABLE] = url
    try:
        failures = autograde_parallel.autograde_parallel(folder, workers=workers)
    finally:
        gradebook_merge.merge = merge
        os.environ.pop(DB_URL_VARIABLE, None)
        if old is not None:
            os.environ[DB_URL_VARIABLE] = old
    return time.time() - start, failures, (merged[0] if merged else None), start


def slurm_array(folder, env):
    """The class as deploy/slurm/autograde.sbatch's array on a one-node Slurm started here; (seconds, failures)."""
    for name in ("tools", "deploy"):  # the course is a checkout: the script runs tools/ from it
        (folder / name).symlink_to(course.ROOT / name)
    env = dict(env, PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    with ScratchSlurm() as slurm:
        start = time.time()
        job = slurm.sbatch(folder, env, "--cpus-per-task=1", "deploy/slurm/autograde.sbatch")
        if not slurm.wait(job, timeout=24 * 3600):
            sys.exit(f"the Slurm array {job} did not end")
        seconds = time.time() - start
        failures = {f"task {j['ArrayTaskId']}": j["JobState"] for j in slurm.jobs() if j["JobState"] != "COMPLETED"}
    return seconds, failures


def projection(cost, workers_start, students=1000, cores=2):
    """Minutes to grade `students` on N machines of `cores` (and of 16) cores sharing one PostgreSQL gradebook, from
    the measured cost per submission-core and the start of the workers (nbgrader, torch, the first kernel)."""
    lines = [f"\nprojection for {students} students (cost {cost:.2f} core-s per submission, "
             f"{workers_start:.0f} s before the first notebook is graded), machines of {cores} and of 16 cores:"]
    for n in (1, 2, 5, 10, 20):
        small = students * cost / (n * cores) + workers_start
        big = students * cost / (n * 16) + workers_start
        lines.append(f"  {n:3d} machines: {small / 60:6.1f} min ({cores} cores each)   {big / 60:6.1f} min (16 cores each)")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["serial", "sqlite"])
    parser.add_argument("--shards", type=int, default=2, help="shard processes in the 'shards' mode")
    args = parser.parse_args()
    n, modes = args.students, args.modes
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp, ScratchPostgres(durable=True) as pg:
        tmp = Path(tmp)
        print(prepare_data.build_mnist_folder(tmp / "data"))
        results = {}
        for mode in modes:
            folder = tmp / mode
            folder.mkdir()
            make_class(folder, tmp / "data", n)
            url = pg.create_database(f"lab2_{mode}") if mode in ("postgres", "shards", "slurm") else None
            load = os.getloadavg()[0]
            seconds, failures, merged, started = run(mode, folder, url, args.workers, args.shards)
            results[mode] = (folder, url, seconds, failures, merged, started)
            label = {"serial": "serial nbgrader autograde (SQLite)",
                     "sqlite": f"parallel, SQLite + merge ({args.workers} workers)",
                     "postgres": f"parallel, PostgreSQL ({args.workers} workers)",
                     "shards": f"{args.shards} shards x 1 worker, PostgreSQL",
                     "slurm": "Slurm array of deploy/slurm/autograde.sbatch, 1 CPU a task, PostgreSQL"}[mode]
            report(label, folder, seconds, n, serial=mode == "serial")
            print(f"  load average before: {load:.2f}; failures: {failures or 'none'}"
                  + (f"; the merge pass: {merged:.1f} s ({merged / seconds:.0%} of the run)" if merged else ""))
        print(f"\n{n} submissions on {cores} cores")
        print(f"  {'mode':10s} {'s':>8s} {'s/submission':>13s} {'core-s/submission':>18s} {'vs first':>9s}")
        base = results[modes[0]][2]
        for mode, (_, _, seconds, _, merged, _) in results.items():
            used = 1 if mode == "serial" else (args.shards if mode == "shards" else
                                               cores if mode == "slurm" else args.workers)
            print(f"  {mode:10s} {seconds:8.1f} {seconds / n:13.2f} {seconds * min(used, cores) / n:18.2f} "
                  f"{base / seconds:8.2f}x" + (f"   (merge {merged:.1f} s)" if merged else ""))
        if "slurm" in results and "postgres" in results:
            extra = results["slurm"][2] - results["postgres"][2]
            print(f"\nthe Slurm array against tools/autograde_parallel.py ({args.workers} workers): {extra:+.1f} s, "
                  f"{extra / n:+.2f} s per submission (the engine's overhead)")
        best = [m for m in ("postgres", "shards") if m in results]
        if best:  # from the PostgreSQL run: what N machines on one gradebook do
            folder, _, seconds, _, _, started = results[best[0]]
            used = args.shards if best[0] == "shards" else args.workers
            stamps = timings(folder)
            first = min(t.get("started_at", started) for t in stamps.values()) - started if stamps else 0.0
            print(projection((seconds - first) * min(used, cores) / n, first, cores=cores))
        rows = {mode: rows_of(folder, url) for mode, (folder, url, *_rest) in results.items()}
        same = all(r == rows[modes[0]] for r in rows.values())
        for mode in modes[1:]:
            for row in sorted(rows[modes[0]] ^ rows[mode])[:20]:
                print(f"  differs ({modes[0] if row in rows[modes[0]] else mode}): {row}")
        failed = {m: r[3] for m, r in results.items() if r[3]}
        print(f"\nfailures: {failed or 'none'}; same gradebook rows in every mode: {same}")
        if not same or failed:
            sys.exit(1)


if __name__ == "__main__":
    main()
