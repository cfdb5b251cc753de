"""Benchmark: a class of N sample submissions graded by nbgrader's serial autograde and by
tools/autograde_parallel.py, in two fresh temporary courses; prints both times, the speed-up, the
seconds per submission, and checks that both gradebooks hold the same rows.

    python benchmarks/autograde_class.py [--students 20] [--workers N]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import autograde_parallel  # noqa: E402
from grade_table import gradebook_rows  # noqa: E402
import prepare_data  # noqa: E402
import release  # noqa: E402
import submissions  # noqa: E402

ASSIGNMENT = "lab2_regularization"


def make_class(course, data, n):
    release.copy_course(course, data)
    source_nb = submissions.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    release_nb = submissions.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    kinds = list(submissions.samples(source_nb).items())
    for i in range(n):
        name, (answers, _, _) = kinds[i % len(kinds)]
        submissions.write_submission(course, f"{name}_{i:02d}", submissions.fill(release_nb, answers))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(prepare_data.build_mnist_folder(tmp / "data"))
        courses = {}
        for mode in ("serial", "parallel"):
            courses[mode] = tmp / mode
            courses[mode].mkdir()
            make_class(courses[mode], tmp / "data", args.students)
        start = time.time()
        subprocess.run(["nbgrader", "autograde", ASSIGNMENT, "--log-level=ERROR"], cwd=courses["serial"],
                       check=True, capture_output=True)
        serial = time.time() - start
        start = time.time()
        failures = autograde_parallel.autograde_parallel(courses["parallel"], workers=args.workers)
        parallel = time.time() - start
        same = gradebook_rows(courses["serial"]) == gradebook_rows(courses["parallel"])
    n = args.students
    print(f"\n{n} submissions on {os.cpu_count()} cores")
    print(f"  nbgrader autograde (serial):            {serial:7.1f} s  ({serial / n:5.1f} s per submission)")
    print(f"  tools/autograde_parallel.py ({args.workers} workers): {parallel:7.1f} s  ({parallel / n:5.1f} s per submission)")
    print(f"  speed-up {serial / parallel:.2f}x; failures {failures or 'none'}; same gradebook rows: {same}")
    if not same or failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
