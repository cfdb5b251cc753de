"""A bug anywhere in the grader is the grader's: a raise injected into each function that the grading process runs
for a submission, one function at a time, charges no one.

The list of functions is not written here: it is what a first nbgrader autograde run traced (tests/grader_faults.py:
every function of grading/ and course.py that ran in the nbgrader process while the complete solution was graded:
plans, requests, reading the kernel's outputs, judgements, overrule, messages, output rewriting, budgets, the
kernel's lifecycle, the source reading, storing the grades). A second run, of tools/autograde_parallel.py (its
workers run nbgrader's own autograde, as the command line does), grades one copy of the complete solution per
function, with that function's first call raising. For each copy, either its grades are exactly those of the
complete solution (the grader recovered on its own, or the function's failure changed nothing), or the command lists
it NOT GRADED, its log names the student, and nothing of it reaches the gradebook. No copy may get fewer points.
"""
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import make_course, nbgrader
from course import ASSIGNMENT, gradebook_rows, read, release_nb, source_nb
from tools import autograde_parallel, submissions

pytestmark = pytest.mark.slow  # two grading runs, one submission per function of the grader

HOOK = """
if os.environ.get('LAB2_FAULTS'):  # tests/test_fault_injection.py: the injector, by its path (a worker's course links here)
    import importlib.util as _util
    _spec = _util.spec_from_file_location('lab2_fault_injection', {path!r})
    _injector = _util.module_from_spec(_spec)
    _spec.loader.exec_module(_injector)
    _injector.install()
"""


def injected_course(tmp_path, mnist_dir):
    course = make_course(tmp_path / "course", mnist_dir)
    shutil.copyfile(Path(__file__).with_name("grader_faults.py"), course / "lab2_fault_injection.py")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(HOOK.format(path=str(course / "lab2_fault_injection.py")))
    return course


def complete(course, *students):
    answers = submissions.solutions(read(source_nb(course)))
    nb = submissions.fill(read(release_nb(course)), answers)
    for student in students:
        submissions.write_submission(course, student, nb)


def rows_of(rows, student):
    return [row[1:] for row in rows if row[0] == student]


def outcome(mine, reference, fired, named):
    """What a fault did to one copy of the complete solution: its rows (cell, auto score, manual score, needs
    manual grade, max score) against those of the copy graded without a fault."""
    if not fired:
        return "never ran"
    if mine == reference:
        return "same grades"
    if all(row[1] is None for row in mine):  # no rows, or rows that nbgrader made as the submission came in, unscored
        return "not graded, named" if named else "not graded, silent"
    return "charged"


def run_injections(course, tmp_path):
    """{function: outcome} with outcome 'same grades' | 'not graded, named' | 'charged' | 'not graded, silent'
    | 'never ran'. The copies are graded by tools/autograde_parallel.py: a copy is 'named' when the command lists it
    NOT GRADED and its log names the student (the GraderBug line), and none of its rows reach the gradebook."""
    complete(course, "traced")
    traced = tmp_path / "traced.json"
    nbgrader(course, "autograde", ASSIGNMENT, env={"LAB2_FAULTS": f"trace:traced:{traced}"})
    functions = [tuple(f) for f in json.loads(traced.read_text(encoding="utf-8"))]
    assert len(functions) > 50, functions  # the trace saw the grader at work
    reference = rows_of(gradebook_rows(course), "traced")
    plan = {f"f{i:03d}": f for i, f in enumerate(functions)}
    complete(course, *plan)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    os.environ["LAB2_FAULTS"] = f"inject:{plan_file}"  # the workers' environment (tools/autograde_parallel.py)
    try:
        failures = autograde_parallel.autograde_parallel(course, quiet=True)
    finally:
        del os.environ["LAB2_FAULTS"]
    fired = Path(f"{plan_file}.fired")
    fired = set(fired.read_text(encoding="utf-8").split()) if fired.exists() else set()
    rows = gradebook_rows(course)
    logs = {student: (course / "autograde_logs" / f"{student}.log") for student in failures}
    named = {student for student, log in logs.items() if f"for student '{student}'" in log.read_text(encoding="utf-8")}
    outcomes = {function: outcome(rows_of(rows, student), reference, student in fired, student in named)
                for student, function in plan.items()}
    return outcomes


def test_a_fault_injected_into_any_grader_function_charges_no_one(tmp_path, mnist_dir):
    course = injected_course(tmp_path, mnist_dir)
    outcomes = run_injections(course, tmp_path)
    counts = {}
    for function, outcome in outcomes.items():
        counts.setdefault(outcome, []).append(function)
    print(f"\nfault injection: {len(outcomes)} functions of the grading process, "
          + ", ".join(f"{outcome}: {len(fs)}" for outcome, fs in sorted(counts.items())))
    for function, outcome in sorted(outcomes.items()):
        print(f"  {outcome:20s} {function[0]}:{function[2]} {function[1]}")
    charged = counts.get("charged", []) + counts.get("not graded, silent", [])
    assert not charged, f"a bug in these functions of the grader charged the student: {charged}"
    assert len(counts.get("never ran", [])) <= len(outcomes) // 10, counts.get("never ran")
