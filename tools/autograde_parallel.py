"""Autograde a whole class with N workers; the gradebook ends up with the rows nbgrader's own serial
`nbgrader autograde` writes.

nbgrader grades one student at a time. Here each student is graded by the real
`nbgrader autograde --student ID` in a private copy of the course (its own gradebook copy, links
to source/, release/, data/ and the student's submission), N at a time. Then one
`nbgrader autograde` run in the course itself, with notebook execution switched off, reads the
executed notebooks and writes their grades into the course's gradebook with nbgrader's own
SaveAutoGrades. A student whose worker fails (a crashed kernel, a timeout) is listed for review;
the others are graded regardless.

    python tools/autograde_parallel.py [--workers N] [--student ID ...] [--course .]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm.auto import tqdm

ASSIGNMENT = "lab2_regularization"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
ROOT = Path(__file__).resolve().parents[1]
SHARED = ("nbgrader_config.py", "grading", "source", "release", "data")
# The merge run: nbgrader's autograde without ClearOutput and Execute, so it scores the outputs
# the workers produced instead of running the notebooks again.
MERGE_FLAGS = [f"--Autograde.sanitize_preprocessors=nbgrader.preprocessors.{p}"
               for p in ("DeduplicateIds", "OverwriteKernelspec", "OverwriteCells", "CheckCellMetadata")] + \
              [f"--Autograde.autograde_preprocessors=nbgrader.preprocessors.{p}"
               for p in ("SaveAutoGrades", "AssignLatePenalties", "CheckCellMetadata")]


def worker_env(workers):
    """Each kernel gets its share of the cores, so N kernels do not fight over every core."""
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    return dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)


def grade_one(course, student, workdir, env, timeout):
    """Grade one student in a private course copy; return (student, seconds, error or None)."""
    start = time.time()
    private = workdir / student
    (private / "submitted").mkdir(parents=True)
    for name in SHARED:
        if (course / name).exists():
            (private / name).symlink_to(course / name)
    shutil.copyfile(course / "gradebook.db", private / "gradebook.db")
    (private / "submitted" / student).symlink_to(course / "submitted" / student)
    try:
        result = subprocess.run(["nbgrader", "autograde", ASSIGNMENT, "--student", student, "--force"],
                                cwd=private, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return student, time.time() - start, f"no result after {timeout} s"
    graded = private / "autograded" / student / ASSIGNMENT / NOTEBOOK
    if result.returncode != 0 or not graded.exists():
        log = course / "autograde_logs" / f"{student}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
        errors = [l for l in (result.stdout + result.stderr).splitlines() if "ERROR" in l or "Error" in l]
        return student, time.time() - start, f"{errors[0] if errors else f'nbgrader exited {result.returncode}'} (log: {log})"
    return student, time.time() - start, None


def merge(course, workdir, students):
    """Write the workers' grades into the course gradebook with nbgrader's own autograde (no execution)."""
    staged = workdir / "_executed"
    staged.mkdir()
    for student in students:
        (staged / student).symlink_to(workdir / student / "autograded" / student)
    result = subprocess.run(["nbgrader", "autograde", ASSIGNMENT, "--force",
                             f"--CourseDirectory.submitted_directory={staged}", *MERGE_FLAGS],
                            cwd=course, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"writing the grades into {course / 'gradebook.db'} failed:\n{result.stdout}\n{result.stderr}")


def autograde_parallel(course=ROOT, students=None, workers=None, timeout=900, quiet=False):
    """Grade `students` (default: everyone in submitted/); return {student: error} for the failures."""
    course = Path(course).resolve()
    students = sorted(students or (p.name for p in (course / "submitted").iterdir() if p.is_dir()))
    workers = workers or os.cpu_count() or 1
    if not (course / "gradebook.db").exists():
        sys.exit("no gradebook.db: run `nbgrader generate_assignment lab2_regularization --force` first")
    failures = {}
    with tempfile.TemporaryDirectory(prefix="autograde-") as tmp:
        workdir = Path(tmp)
        env = worker_env(workers)
        with ThreadPoolExecutor(workers) as pool, \
                tqdm(total=len(students), desc=f"autograde ({workers} workers)", unit="student", disable=quiet) as bar:
            futures = [pool.submit(grade_one, course, s, workdir, env, timeout) for s in students]
            for future in as_completed(futures):
                student, seconds, error = future.result()
                if error:
                    failures[student] = error
                bar.set_postfix_str(f"{student} {seconds:.0f} s" + (" FAILED" if error else ""))
                bar.update()
        graded = [s for s in students if s not in failures]
        if graded:  # the merge also writes the executed notebooks to autograded/, as the serial run does
            merge(course, workdir, graded)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=str(ROOT))
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel workers (default: cores)")
    parser.add_argument("--student", nargs="*", help="only these students (default: all in submitted/)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds for one student before giving up")
    args = parser.parse_args()
    start = time.time()
    failures = autograde_parallel(args.course, args.student, args.workers, args.timeout)
    print(f"done in {time.time() - start:.1f} s")
    if failures:
        print("NOT GRADED -- review these submissions by hand:")
        for student, error in sorted(failures.items()):
            print(f"  {student}: {error}")
        sys.exit(2)


if __name__ == "__main__":
    main()
