"""A bug anywhere in the grader is the grader's: a raise injected into each function that the grading process runs
for a submission, one function at a time, charges no one.

The list of functions is not written here: it is what a first nbgrader autograde run traced (tests/grader_faults.py:
every function of grading/ and course.py that ran in the nbgrader process while the complete solution was graded:
plans, requests, reading the kernel's outputs, judgements, overrule, messages, output rewriting, budgets, the
kernel's lifecycle, the source reading, storing the grades). A second run grades one copy of the complete solution
per function, with that function's first call raising. For each copy, either its grades are exactly those of the
complete solution (the grader recovered on its own, or the function's failure changed nothing), or nbgrader
autograde names the student and records nothing for it, and exits non-zero. No copy may get fewer points.
"""
import json
import shutil
from pathlib import Path

import pytest

from conftest import make_course, nbgrader
from course import ASSIGNMENT, gradebook_rows, read, release_nb, source_nb
from tools import submissions

pytestmark = pytest.mark.slow  # two nbgrader autograde runs, one submission per function of the grader

HOOK = "if os.environ.get('LAB2_FAULTS'):  # tests/test_fault_injection.py\n" \
       "    import lab2_fault_injection\n    lab2_fault_injection.install()\n"


def injected_course(tmp_path, mnist_dir):
    course = make_course(tmp_path / "course", mnist_dir)
    shutil.copyfile(Path(__file__).with_name("grader_faults.py"), course / "lab2_fault_injection.py")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\n" + HOOK)
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
    if all(row[1] is None for row in mine):  # nbgrader made the rows when the submission came in, and scored none
        return "not graded, named" if named else "not graded, silent"
    return "charged"


def run_injections(course, tmp_path):
    """{function: outcome} with outcome 'same grades' | 'not graded, named' | 'charged' | 'not graded, silent'
    | 'never ran'; and the nbgrader result of the injection run."""
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
    result = nbgrader(course, "autograde", ASSIGNMENT, env={"LAB2_FAULTS": f"inject:{plan_file}"}, check=False)
    log = result.stdout + result.stderr
    fired = Path(f"{plan_file}.fired")
    fired = set(fired.read_text(encoding="utf-8").split()) if fired.exists() else set()
    rows = gradebook_rows(course)
    outcomes = {function: outcome(rows_of(rows, student), reference, student in fired,
                                  f"for student '{student}'" in log) for student, function in plan.items()}
    return outcomes, result


def test_a_fault_injected_into_any_grader_function_charges_no_one(tmp_path, mnist_dir):
    course = injected_course(tmp_path, mnist_dir)
    outcomes, result = run_injections(course, tmp_path)
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
    assert result.returncode != 0 or not counts.get("not graded, named"), "nbgrader autograde exited 0 over grader bugs"
