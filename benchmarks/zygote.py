"""Benchmark: serial `nbgrader autograde` of a class of N sample submissions, the kernel zygote off and on
(c.SafeExecute.zygote, $LAB2_ZYGOTE), the two ways alternated in one run (off, on, off, on, ...) so that both
see the same load. Prints, per run and as medians: seconds per submission (wall), CPU-seconds per submission
(nbgrader and everything it started, wherever it was reparented: a cgroup's CPU accounting, cgroup v1's cpuacct
or v2's cpu.stat), and the grading process tree's peak memory
(the sum of the proportional set sizes of nbgrader and its descendants, sampled every 0.2 s: pages the zygote
shares with its children count once). Checks that every run wrote the same gradebook rows.

    python benchmarks/zygote.py [--students 20] [--runs 2]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil

from autograde_class import make_class  # benchmarks/, beside this script
from tools import prepare_data
from course import ASSIGNMENT, gradebook_rows


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


def grade(folder, zygote):
    env = dict(os.environ, LAB2_ZYGOTE="on" if zygote else "off")
    group, counter, unit = cpu_cgroup()
    start = time.time()
    command = f"echo $$ > {group}/cgroup.procs && exec nbgrader autograde {ASSIGNMENT} --log-level=ERROR"
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
        raise SystemExit(f"nbgrader autograde failed:\n{err.decode()[-3000:]}")
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
    args = parser.parse_args()
    n = args.students
    results = {False: [], True: []}
    rows = []
    with tempfile.TemporaryDirectory(prefix="zygote-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        prepare_data.build_mnist_folder(data)
        for run in range(args.runs):
            for zygote in (False, True):
                folder = Path(tmp) / f"class-{run}-{'on' if zygote else 'off'}"
                make_class(folder, data, n)
                subprocess.run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=ERROR"],
                               cwd=folder, check=True, capture_output=True)
                seconds, cpu, peak = grade(folder, zygote)
                results[zygote].append((seconds / n, cpu / n, peak))
                rows.append(gradebook_rows(folder))
                print(f"run {run + 1}, zygote {'on ' if zygote else 'off'}: {seconds / n:.2f} s/submission, "
                      f"{cpu / n:.2f} CPU-s/submission, peak {peak / 2**20:.0f} MiB", flush=True)
    print(f"\n{n} submissions, serial nbgrader autograde, medians of {args.runs} runs each way")
    print("| zygote | s per submission | CPU-s per submission | peak memory (PSS, MiB) |\n| --- | --- | --- | --- |")
    for zygote in (False, True):
        s, c, p = (statistics.median(x[i] for x in results[zygote]) for i in range(3))
        print(f"| {'on' if zygote else 'off'} | {s:.2f} | {c:.2f} | {p / 2**20:.0f} |")
    off, on = (statistics.median(x[0] for x in results[z]) for z in (False, True))
    print(f"ratio off/on (s per submission): {off / on:.2f}x")
    print("same gradebook rows in every run:", all(r == rows[0] for r in rows))


if __name__ == "__main__":
    main()
