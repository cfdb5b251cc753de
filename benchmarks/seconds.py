"""Benchmark: where one submission's seconds go under serial `nbgrader autograde` (the kernel zygote on where it
can be): N sample submissions graded twice in fresh courses, once plainly (the wall clock) and once under
cProfile (which of the grading process's steps cost what; the profile slows Python code, so its seconds are
read as shares of the profiled run's wall, both walls printed). The kernel's side comes from the timing that
grading/safe_execute.py records in each autograded notebook: its boot (the fork, the sandbox, ipykernel's start;
overlapped with the previous notebook where a next one is known) and each graded cell's wall minus the
grading process's judgement of it.

    python benchmarks/seconds.py [--students 8]
    python benchmarks/seconds.py --corpus      # the test corpus's varied submissions instead of the four samples

--corpus grades one submission per variant of tests/corpus/ of the kinds in CORPUS_KINDS (other correct forms, the
mistakes students make, the library's own ops: every part of the grader runs, and no variant waits out a cell
timeout on purpose, as the tricks do).
"""
import argparse
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbgrader.converters.base import BaseConverter
from nbgrader.preprocessors import OverwriteCells

from autograde_class import make_class, timings  # benchmarks/, beside this script
from grading import lab2_grader, zygote
from grading.cell_metadata import CheckCellMetadata
from grading.rubrics import SaveAutoGradesAndRubrics
from grading.safe_execute import SafeExecute
from tools import prepare_data
from course import ASSIGNMENT

def where(function):
    """How pstats names a function, "folder/file.py:line(name)", from the function itself (its line moves with edits)."""
    code = function.__code__
    folder, file = os.path.split(code.co_filename)
    return f"/{os.path.basename(folder)}/{file}:{code.co_firstlineno}({code.co_name})"


# (what it is, the profiled function as pstats names it, matched by its end)
ONCE = (("Python, nbgrader and the grader imported, the gradebook opened: before the first notebook", None),
        ("of it, the grader's imports (torch among them)", "/judging.py:1(<module>)"),
        ("the kernel zygote's start (inside the first notebook's driver)", where(zygote.Zygote.__init__)))
CONVERT = where(BaseConverter.convert_notebooks)
CHAIN = where(Preprocessor.__call__)
DRIVER = where(SafeExecute.preprocess)
JUDGE = where(lab2_grader.judge)
NBGRADER = (("CheckCellMetadata (twice per notebook)", where(CheckCellMetadata.preprocess)),
            ("SaveAutoGradesAndRubrics (the gradebook's rows, one commit)", where(SaveAutoGradesAndRubrics.preprocess)),
            ("OverwriteCells", where(OverwriteCells.preprocess)))


CORPUS_KINDS = ("correct", "mistake", "policy")


def corpus_class(folder, data):
    """A course whose class is the corpus's variants of CORPUS_KINDS, one student each; their number."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from corpus import corpus, submission  # tests/corpus/
    from tools import submissions
    import course
    course.copy_course(folder, data)
    source_nb, release_nb = course.read(course.source_nb(folder)), course.read(course.release_nb(folder))
    variants = [v for v in corpus(source_nb) if v.kind in CORPUS_KINDS]
    for v in variants:
        submissions.write_submission(folder, v.name, submission(release_nb, source_nb, v))
    return len(variants)


def course_of(tmp, name, data, n, corpus=False):
    folder = Path(tmp) / name
    if corpus:
        corpus_class(folder, data)
    else:
        make_class(folder, data, n)
    subprocess.run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=ERROR"], cwd=folder,
                   check=True, capture_output=True)
    return folder


def autograde(folder, profile=None):
    command = [shutil.which("nbgrader"), "autograde", ASSIGNMENT, "--log-level=ERROR"]
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", str(profile)] + command
    start = time.time()
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return time.time() - start


def cumulative(stats, suffix):
    return sum(row[3] for key, row in stats.stats.items() if f"{key[0]}:{key[1]}({key[2]})".endswith(suffix))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--corpus", action="store_true", help="the corpus's variants (CORPUS_KINDS), not the samples")
    args = parser.parse_args()
    n = args.students
    with tempfile.TemporaryDirectory(prefix="seconds-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        prepare_data.build_mnist_folder(data)
        plain_course = course_of(tmp, "plain", data, n, args.corpus)
        n = len(list((plain_course / "submitted").iterdir()))
        plain = autograde(plain_course)
        folder, profile = course_of(tmp, "profiled", data, n, args.corpus), Path(tmp) / "nbgrader.prof"
        profiled = autograde(folder, profile)
        stats = pstats.Stats(str(profile))
        stamps = timings(folder)
    total = stats.total_tt
    which = "the corpus: " + ", ".join(CORPUS_KINDS) if args.corpus else "the four samples"
    print(f"{n} submissions ({which}), serial nbgrader autograde, zygote {os.environ.get('LAB2_ZYGOTE', 'default')}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"wall: {plain / n:.2f} s per submission plainly, {profiled / n:.2f} under cProfile\n")
    print("| once per run, under cProfile | s |\n| --- | --- |")
    print(f"| {ONCE[0][0]} | {total - cumulative(stats, CONVERT):.2f} |")
    for what, suffix in ONCE[1:]:
        print(f"| {what} | {cumulative(stats, suffix):.2f} |")
    once = total - cumulative(stats, CONVERT) + cumulative(stats, ONCE[2][1])
    driver, judged = cumulative(stats, DRIVER) - cumulative(stats, ONCE[2][1]), cumulative(stats, JUDGE)
    steps = [("the grading driver, less its judgements: waiting on the kernel, its protocol", driver - judged),
             ("the judgements of the kernel's data (lab2_grader.judge)", judged)]
    steps += [(f"nbgrader: {what}", cumulative(stats, suffix)) for what, suffix in NBGRADER]
    steps.append(("nbgrader: the chain's other preprocessors", cumulative(stats, CHAIN) - sum(s for _, s in steps)
                  - cumulative(stats, ONCE[2][1])))
    steps.append(("nbgrader: outside the chain (copying, the submission's records)",
                  cumulative(stats, CONVERT) - cumulative(stats, CHAIN)))
    print("\n| per submission, under cProfile | s per submission | share |\n| --- | --- | --- |")
    for what, seconds in steps:
        print(f"| {what} | {seconds / n:.3f} | {seconds / (total - once):.0%} |")
    judged /= n
    rows = list(stamps.values())
    boot = statistics.mean(r.get("kernel_boot", 0.0) for r in rows)
    wait = statistics.mean(r.get("kernel_wait", 0.0) for r in rows)
    cells = statistics.mean(sum(s for _, label, s in r.get("cells", []) if label != "student code") for r in rows)
    print("\n| the kernel, from the driver's timing (profiled run) | s per submission |\n| --- | --- |")
    print(f"| boot: fork, sandbox, ipykernel (overlaps the previous notebook) | {boot:.3f} |")
    print(f"| of it waited for by this notebook | {wait:.3f} |")
    print(f"| its cells, the setup and the graded ones, less the judgement | {cells - judged:.3f} |")
    slowest = sorted(((statistics.mean(s for r in rows for _, lab, s in r.get("cells", []) if lab == label), label)
                      for label in {lab for r in rows for _, lab, _ in r.get("cells", [])}), reverse=True)[:6]
    print("slowest cells (wall, judgement included): " + ", ".join(f"{label} {s:.2f}" for s, label in slowest))


if __name__ == "__main__":
    main()
