"""Benchmark: serial `nbgrader autograde` of a class of N sample submissions, the kernel zygote off and on
(c.SafeExecute.zygote, $LAB2_ZYGOTE), the two ways alternated in one run (off, on, off, on, ...) so that both
see the same load. Prints, per run and as medians: seconds per submission (wall), CPU-seconds per submission
(nbgrader and everything it started, wherever it was reparented: a cgroup's CPU accounting, cgroup v1's cpuacct
or v2's cpu.stat), and the grading process tree's peak memory
(the sum of the proportional set sizes of nbgrader and its descendants, sampled every 0.2 s: pages the zygote
shares with its children count once). Checks that every run wrote the same gradebook rows.

With --workers N the class is graded as a TA grades a big one: `tools/autograde_parallel.py --workers N` on a
PostgreSQL gradebook (a throwaway server, tools/scratch_postgres.py, one database per run), still alternated; the
peak memory is then also given per worker (the tree's peak over N).

With --as-user NAME (run as root) each run is also graded as that user who is not root (made if missing;
tools/as_user.py), in a class folder of theirs: root and not root alternated in the same run (root off, root on,
NAME off, NAME on, ...), so that both see the same load. As root each kernel has a uid of its own; as NAME the zygote
runs in bwrap's user namespace and each kernel in one of its own (README, "TAs").

    python benchmarks/zygote.py [--students 20] [--runs 2] [--workers N] [--as-user lab2-ta]
"""
import argparse
import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from autograde_class import make_class, rows_of  # benchmarks/, beside this script
from tools import as_user, prepare_data
from tools.scratch_postgres import ScratchPostgres
from course import ASSIGNMENT, DB_URL_VARIABLE, ROOT


def tree_pss(root):
    total = 0
    try:
        processes = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except psutil.Error:
            pass
    return total


CGROUPS = [("/sys/fs/cgroup/cpuacct", "cpuacct.usage", 1e9), ("/sys/fs/cgroup/unified", "cpu.stat", 1e6),
           ("/sys/fs/cgroup", "cpu.stat", 1e6)]


def cpu_cgroup():
    """A new cgroup that counts CPU time: (its folder, the file to read, its unit per second)."""
    for root, name, unit in CGROUPS:
        if os.path.exists(os.path.join(root, name)):
            folder = tempfile.mkdtemp(prefix="lab2-zygote-bench-", dir=root)
            return folder, os.path.join(folder, name), unit
    raise SystemExit("no cgroup with CPU accounting: cannot count the CPU of reparented kernels")


def cpu_seconds(path, unit):
    with open(path) as f:
        text = f.read()
    value = text.split("usage_usec")[1].split()[0] if "usage_usec" in text else text.split()[0]
    return int(value) / unit


def user_env(zygote):
    """A login's plain environment for the user who is not root, this venv first on PATH."""
    return {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "LAB2_ZYGOTE": "on" if zygote else "off"}


def grade(folder, zygote, workers=None, url=None, user=None):
    env = {k: v for k, v in os.environ.items() if k != DB_URL_VARIABLE}
    env["LAB2_ZYGOTE"] = "on" if zygote else "off"
    if url:
        env[DB_URL_VARIABLE] = url
    generate = ["nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=ERROR"]
    subprocess.run(as_user.command(user, generate, user_env(zygote)) if user else generate,
                   cwd=folder, env=env, check=True, capture_output=True)
    group, counter, unit = cpu_cgroup()
    start = time.time()
    grader = (f"{sys.executable} {ROOT / 'tools' / 'autograde_parallel.py'} --workers {workers}" if workers
              else f"nbgrader autograde {ASSIGNMENT} --log-level=ERROR")
    if user:  # (the shell moves itself into the cgroup as root, then becomes the user)
        grader = shlex.join(as_user.command(user, ["sh", "-c", grader], user_env(zygote)))
    command = f"echo $$ > {group}/cgroup.procs && exec {grader}"
    process = subprocess.Popen(["sh", "-c", command], cwd=folder, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    peak, root = [0], psutil.Process(process.pid)

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_pss(root))
            time.sleep(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    seconds = time.time() - start
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{grader} failed:\n{err.decode()[-3000:]}")
    time.sleep(1)  # the kernels' last processes end with their namespaces
    cpu = cpu_seconds(counter, unit)
    try:
        os.rmdir(group)
    except OSError:
        pass
    return seconds, cpu, peak[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None,
                        help="grade with tools/autograde_parallel.py and N workers on a PostgreSQL gradebook")
    parser.add_argument("--as-user", metavar="NAME", help="also grade each run as NAME, a user who is not root "
                        "(run this as root; the user is made if missing)")
    args = parser.parse_args()
    n, workers, other = args.students, args.workers, args.as_user
    if other and (why := as_user.why_not()):
        raise SystemExit(f"--as-user: {why}")
    users = ["root", other] if other else [None]
    ways = [(user, zygote) for user in users for zygote in (False, True)]
    results = {way: [] for way in ways}
    rows = []
    with tempfile.TemporaryDirectory(prefix="zygote-bench-") as tmp, \
            (ScratchPostgres(durable=True) if workers else contextlib.nullcontext()) as pg:
        os.chmod(tmp, 0o755)  # the user who is not root grades in a class folder of theirs in here
        if other:
            as_user.ensure_user(other)
        data = Path(tmp) / "data"
        data.mkdir()
        prepare_data.build_mnist_folder(data)
        for run in range(args.runs):
            for user, zygote in ways:
                name = f"class-{run}-{user or 'me'}-{'on' if zygote else 'off'}"
                folder = Path(tmp) / name
                make_class(folder, data, n)
                url = pg.create_database(name.replace("-", "_")) if workers else None
                if user not in (None, "root"):
                    as_user.give(folder, user)
                seconds, cpu, peak = grade(folder, zygote, workers, url, user if user not in (None, "root") else None)
                results[(user, zygote)].append((seconds, cpu / n, peak))
                rows.append(rows_of(folder, url))
                print(f"run {run + 1}, {f'{user}, ' if user else ''}zygote {'on ' if zygote else 'off'}: {seconds:.1f} s, "
                      f"{seconds / n:.2f} s/submission, {cpu / n:.2f} CPU-s/submission, peak {peak / 2**20:.0f} MiB, "
                      f"load before {os.getloadavg()[0]:.2f}", flush=True)
    way = (f"tools/autograde_parallel.py --workers {workers}, PostgreSQL" if workers
           else "serial nbgrader autograde, SQLite")
    print(f"\n{n} submissions, {way}, on {os.cpu_count()} cores, medians of {args.runs} runs each way")
    print(("| user " if other else "") + "| zygote | s for the class | s per submission | CPU-s per submission | "
          "peak memory (PSS, MiB) |" + (" peak per worker (MiB) |" if workers else "")
          + "\n" + ("| --- " if other else "") + "| --- | --- | --- | --- | --- |" + (" --- |" if workers else ""))
    for user, zygote in ways:
        s, c, p = (statistics.median(x[i] for x in results[(user, zygote)]) for i in range(3))
        print((f"| {user} " if other else "") + f"| {'on' if zygote else 'off'} | {s:.1f} | {s / n:.2f} | {c:.2f} | "
              f"{p / 2**20:.0f} |" + (f" {p / workers / 2**20:.0f} |" if workers else ""))
    for user in users:
        off, on = (statistics.median(x[0] for x in results[(user, z)]) for z in (False, True))
        print(f"ratio off/on (seconds){f' for {user}' if user else ''}: {off / on:.2f}x")
    if other:
        mine, theirs = (statistics.median(x[0] for x in results[(u, True)]) for u in users)
        print(f"ratio {other}/root with the zygote (seconds): {theirs / mine:.2f}x")
    same = all(r == rows[0] for r in rows)
    print("same gradebook rows in every run:", same, f"({len(rows[0])} rows)")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
