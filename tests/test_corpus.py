"""The hidden tests, proven on a corpus (tests/corpus/) autograded with the real nbgrader:
every correct variant keeps every point, every mistake loses points in its own part only with a
Chinese message that shows a number, library ops earn nothing, and no trick pays."""
import json
import os
import re
import subprocess
import sys
import time

import nbformat
import pytest

from pathlib import Path

from conftest import RELEASE_NB, SOURCE_NB, make_course
from corpus import CORRECT, HELD, TRICK, corpus, submission
from tools import autograde_parallel, integrity_report, submissions
from course import ASSIGNMENT, autograded_nb, autograded_points, gradebook, meta
from grading import parts
from grading.parts import NAMES as PARTS, part_name as part

pytestmark = pytest.mark.slow  # grades 100 submissions with the real nbgrader

SOURCE = nbformat.read(str(SOURCE_NB), as_version=4)
ONLY = os.environ.get("LAB2_CORPUS_PART")  # tools/check_part.py: grade only this part's variants
VARIANTS = corpus(SOURCE, part=ONLY)
POINTS = autograded_points(SOURCE)
CJK = re.compile(r"[\u4e00-\u9fff]")
ADVICE_SECONDS = 1200  # the advice run's backstop (300 to 520 s; each notebook is bounded by student_kernel.py too)


@pytest.fixture(scope="session")
def graded_corpus(tmp_path_factory, mnist_dir, request):
    """Autograde every variant in one batch; return {variant: {grade_id: (score, message, stdout, mistake on
    the data alone, the verdict's mistake)}}, and the integrity report of the batch under the key None."""
    course = make_course(tmp_path_factory.mktemp("corpus"), mnist_dir)
    release_nb = nbformat.read(str(RELEASE_NB), as_version=4)
    for variant in VARIANTS:
        submissions.write_submission(course, variant.name, submission(release_nb, SOURCE, variant))
    advice = start_advice(course, tmp_path_factory.mktemp("advice"))  # runs beside the grading, on the same files
    request.addfinalizer(lambda: [run.kill() for run in advice[0]])  # none outlives the session (a no-op if done)
    os.environ["LAB2_CELL_TIMEOUT"] = "60"  # a kernel broken by a trick stops answering: give up sooner
    start = time.time()
    failures = autograde_parallel.autograde_parallel(course, quiet=True)
    del os.environ["LAB2_CELL_TIMEOUT"]
    slow = [v.name for v in VARIANTS if v.kind != TRICK and timed_out(course, v.name)]
    if slow:  # 60 s was the test's shortcut for the tricks, not a verdict: these grade again at the course's limit
        print(f"\ngraded again at the course's cell timeout (a cell ran past 60 s on this machine): {slow}")
        failures.update(autograde_parallel.autograde_parallel(course, students=slow, quiet=True))
    seconds = time.time() - start
    print(f"\nautograde of the corpus: {len(VARIANTS)} submissions in {seconds:.0f} s "
          f"({seconds / len(VARIANTS):.1f} s per submission, parallel)")
    assert not failures, failures
    results = {}
    for variant in VARIANTS:
        nb = nbformat.read(str(autograded_nb(course, variant.name)), 4)
        cells = {}
        for cell in nb.cells:
            gid = meta(cell).get("grade_id")
            if gid in POINTS:
                errors = [o for o in cell.outputs if o.output_type == "error"]
                stdout = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
                verdict = cell.metadata.get("lab2", {})
                cells[gid] = (0.0 if errors else POINTS[gid], errors[0].evalue if errors else "", stdout,
                              verdict.get("data_mistake", ""), verdict.get("mistake", ""))
        results[variant.name] = cells
    with gradebook(course) as gb:
        for variant in VARIANTS:
            nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, variant.name)
            book = {g.name: g.score for g in nb.grades if g.name in POINTS}
            outputs = {gid: v[0] for gid, v in results[variant.name].items()}
            assert book == outputs, f"{variant.name}: gradebook {book} differs from the cell outputs {outputs}"
    print_table(results)
    results[None] = integrity_report.report(course)
    results[None, "course"] = course
    results[None, "advice"] = advice
    print_families(results)
    return results


def timed_out(course, student):
    """Whether a graded cell of the student's autograded notebook ran past its timeout (CellTimeoutError)."""
    nb = nbformat.read(str(autograded_nb(course, student)), 4)
    return any(o.output_type == "error" and "CellTimeoutError" in o.get("evalue", "") for cell in nb.cells
               if meta(cell).get("grade_id") in POINTS for o in cell.get("outputs", []))


def print_table(results):
    print(f"\n{'variant':42s} {'kind':8s} {'expected':>8s} {'points':>7s}  failing cells")
    for variant in VARIANTS:
        cells = results[variant.name]
        expected = sum(POINTS.values()) - sum(POINTS[g] for g in variant.must_fail)
        got = sum(cell[0] for cell in cells.values())
        failing = sorted(g for g, cell in cells.items() if cell[0] == 0)
        shown = "≤" + f"{expected:.0f}" if variant.may_fail_anywhere or variant.kind != CORRECT and \
            any(g not in variant.must_fail for g in POINTS if part(g) in variant.parts) else f"{expected:.0f}"
        print(f"{variant.name:42s} {variant.kind:8s} {shown:>8s} {got:7.0f}  {', '.join(failing)}")


def family(variant):
    """The family a variant belongs to in the closing tables."""
    if variant.family:
        return variant.family
    return variant.reported.split(" (")[-1] if "(" in variant.reported else (variant.reported or variant.kind)


def caught(variant, results):
    """Whether the grader decided about the variant as it should (the checks of test_variant, in one boolean)."""
    cells = results[variant.name]
    failing = {gid for gid, cell in cells.items() if cell[0] == 0}
    if variant.kind == CORRECT:
        return not failing
    if variant.kind in HELD:
        return failing == set(variant.must_fail) and all(cells[g][4] == HELD[variant.kind] for g in variant.must_fail)
    kept_elsewhere = variant.may_fail_anywhere or not {g for g in failing if part(g) not in variant.parts}
    return variant.must_fail <= failing and kept_elsewhere


def print_families(results):
    """Per family: variants tried, and how many the grader decided about as it should."""
    tried = {}
    for variant in VARIANTS:
        if variant.reported or variant.family:
            tried.setdefault(family(variant), []).append(caught(variant, results))
    print(f"\n{'family':42s} {'tried':>5s} {'as it should':>12s}")
    for name, outcome in tried.items():
        print(f"{name:42s} {len(outcome):5d} {sum(outcome):12d}")


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant(variant, graded_corpus):
    cells = graded_corpus[variant.name]
    failing = {gid for gid, cell in cells.items() if cell[0] == 0}
    given = {mistake for cell in cells.values() for mistake in cell[3:5] if mistake}
    assert variant.mistakes <= given, f"claims {sorted(variant.mistakes - given)}, but the grader gave {sorted(given)}"
    report = [kind for kind, _ in graded_corpus[None][variant.name]]
    if variant.kind == CORRECT:
        assert not failing, f"correct code lost points in {failing}: " + \
            "; ".join(cells[g][1] for g in sorted(failing))
        assert not [k for k in report if k.startswith(("tampering", "unreadable", "autograd"))], report
        return
    if variant.kind in HELD:  # every test after the cell held (needs review) or failed (tampering); the ones before kept
        assert failing == set(variant.must_fail), f"held {sorted(failing)}, expected {sorted(variant.must_fail)}"
        wrong = {g: cells[g][4] for g in variant.must_fail if cells[g][4] != HELD[variant.kind]}
        assert not wrong, f"verdicts other than {HELD[variant.kind]}: {wrong}"
        assert any(variant.reported in kind for kind in report), f"the integrity report does not name it: {report}"
        message = cells[sorted(variant.must_fail)[0]][1]
        assert CJK.search(message) and (variant.message or "") in message, message
        return
    missed = variant.must_fail - failing
    assert not missed, f"wrong code kept the points of {missed}"
    if not variant.may_fail_anywhere:
        outside = {gid for gid in failing if part(gid) not in variant.parts}
        assert not outside, f"a mistake in {variant.parts} cost points in {outside}"
    if variant.reported:
        assert any(variant.reported in kind for kind in report), f"the integrity report does not name it: {report}"
    if variant.kind == TRICK:  # a trick only has to earn nothing; and the data alone already fails the wrong code
        on_data = {gid: cells[gid][3] for gid in variant.must_fail}
        assert all(on_data.values()), f"the judgement on the kernel's data passed {on_data}"
        return
    for gid in variant.must_fail:
        score, message, stdout, _, _ = cells[gid]
        assert CJK.search(message), f"{gid}: the message is not in Chinese: {message!r}"
        assert re.search(r"\d", message + stdout) or variant.kind != "mistake" or not variant.compares, \
            f"{gid}: no number shown: {message!r}"
    if variant.message:
        assert any(variant.message in cells[g][1] for g in variant.must_fail), \
            f"no message mentions {variant.message!r}: {[cells[g][1] for g in sorted(variant.must_fail)]}"


RULE_SUFFIXES = ("_op_not_allowed", "_leaves_torch", "_autograd", "_cuts_graph")


def by_a_rule(mistake):
    """The grader's mistake id when a rule decided it (not the data): what the visible tests' advice must also say."""
    return mistake if mistake in HELD.values() or mistake.endswith(RULE_SUFFIXES) else ""


def start_advice(course, out):
    """Every variant run as a student runs it (tests/student_kernel.py: each in a scratch folder of its own), in two
    processes started now, beside the grading: (the processes, their output folder, the notebooks, the start)."""
    paths = [str(course / "submitted" / v.name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb") for v in VARIANTS]
    runs = [subprocess.Popen([sys.executable, str(Path(__file__).parent / "student_kernel.py"), str(out / f"{i}.json"),
                              *paths[i::2]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(2)]
    return runs, out, paths, time.time()


@pytest.fixture(scope="session")
def advised_corpus(graded_corpus):
    """What the advice said, for every variant (the run start_advice began beside the grading)."""
    runs, out, paths, start = graded_corpus[None, "advice"]
    for run in runs:  # a backstop: each notebook is bounded (student_kernel.py), and so is the whole run
        try:
            run.wait(timeout=max(1, start + ADVICE_SECONDS - time.time()))
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
    said = {}
    for i in range(2):
        if (out / f"{i}.json").exists():
            said.update(json.loads((out / f"{i}.json").read_text(encoding="utf-8")))
    print(f"\nthe corpus run as students run it: {len(paths)} notebooks in {time.time() - start:.0f} s")
    stopped = {"__error__": f"the advice run was stopped after {ADVICE_SECONDS} s, before this notebook's turn"}
    return {v.name: said.get(path, stopped) for v, path in zip(VARIANTS, paths)}


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_the_visible_advice_says_what_the_grader_decides(variant, graded_corpus, advised_corpus):
    """Every rule that can cost points is checked in the student's own visible tests, as advice, in the grader's
    words: for every test of every variant, the advice names the rule the grader applied (or none). A trick that
    breaks the kernel on purpose may silence the advice: there the grader alone decides."""
    said = advised_corpus[variant.name]
    decided = {gid: by_a_rule(cell[4]) for gid, cell in graded_corpus[variant.name].items()}
    if variant.kind == TRICK:
        decided = {gid: rule for gid, rule in decided.items() if gid in said}
    assert "__error__" not in said or variant.kind == TRICK, said.get("__error__")
    disagree = {gid: (rule, said.get(gid)) for gid, rule in decided.items() if said.get(gid) != rule}
    assert not disagree, f"grader vs advice: {disagree}"


def test_every_mistake_id_is_declared_and_every_declaration_reached(graded_corpus):
    """Every mistake id the grader gave in the corpus (on the data alone, and the verdict) is one its test declares
    (grading/parts/: Test.mistakes and shared_mistakes; the grader also refuses an undeclared one as a GraderBug), and
    every declaration is reached by some variant: no dead id. A shared declaration (<part>_not_implemented, the
    allowlists' ids, ...) is reached when one of the parts that share it reaches it."""
    emitted = {}  # mistake id -> the grade ids it was given for
    for variant in VARIANTS:
        for gid, cell in graded_corpus[variant.name].items():
            for mistake in filter(None, cell[3:5]):
                emitted.setdefault(mistake, set()).add(gid)
    undeclared = {m: sorted(g for g in gids if m not in parts.MISTAKES[g]) for m, gids in emitted.items()}
    assert not {m: g for m, g in undeclared.items() if g}, undeclared
    declarations = parts.declarations(ONLY)
    unreached = sorted(where for where, ids in declarations.items() if not ids & emitted.keys())
    declared_ids = set().union(*declarations.values())
    print(f"\nmistake ids: {len(declarations)} declarations ({len(declared_ids)} ids over the parts), {len(emitted)} ids "
          f"emitted in the corpus, {len(declarations) - len(unreached)} declarations reached")
    assert not unreached, f"declared but given to no variant: {unreached}"


def test_overflow_beyond_the_graded_range_is_a_hint_not_a_penalty(graded_corpus):
    """The handout's tanh formula gives NaN for |x| > 88 in float32: full points, and a hint."""
    cells = graded_corpus["correct_skip_execution_tag_on_tests"]
    assert cells["tanh_value"][0] == POINTS["tanh_value"]
    assert "溢出" in cells["tanh_value"][2]


def test_corpus_covers_every_part_and_kind():
    kinds = {v.kind for v in VARIANTS}
    assert kinds == {"correct", "mistake", "policy", "trick", "review", "tamper"}
    for name in PARTS:
        assert sum(v.kind == CORRECT and any(part(k) == name for k in v.answers) for v in VARIANTS) >= 2, name
        assert sum(v.kind != CORRECT and name in v.parts for v in VARIANTS) >= 3, name
