"""The master notebook's nbgrader metadata is what TAs and the gradebook rely on."""
import re

from course import EXPERIMENT, EXPERIMENTS, RUN, experiment_of, meta, tags
from grading import feedback, hidden_tests, parts
from grading.parts import part_name as part
from grading.rubrics import BEGIN_MARK_SCHEME, END_MARK_SCHEME

PARTS, QUESTIONS = parts.NAMES, parts.QUESTION_NAMES



def graded_cells(nb):
    return [(i, c, meta(c)) for i, c in enumerate(nb.cells)
            if meta(c).get("grade") or meta(c).get("solution")]


def test_grade_ids_are_unique_and_name_their_part(source_nb):
    ids = [m["grade_id"] for _, _, m in graded_cells(source_nb)]
    assert len(ids) == len(set(ids)), f"duplicate grade ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    wrong = [i for i in ids if not i.startswith(tuple(p + "_" for p in PARTS + QUESTIONS))]
    assert not wrong, f"grade ids that do not start with their part: {wrong}"


def test_a_grade_id_names_its_part_without_doubt():
    """A part's name may hold underscores: a grade id's part is the longest declared name it starts with
    (parts.part_name), so every declared grade id must start with its own part's name and no other part's longer one."""
    for p in parts.PARTS:
        for gid in [p.answer] + [t.grade_id for t in p.tests]:
            assert part(gid) == p.name, (f"{gid} (declared by grading/parts/ for the part {p.name!r}) reads as the part "
                                         f"{part(gid)!r}: give it a name that starts with {p.name}_, or rename the part")
    for q in parts.QUESTIONS:
        assert part(q.answer) == part(q.rubric) == q.name, q.name


def test_the_points_add_up_to_the_declared_course_total(source_nb):
    """The course's total is one declared number (grading/parts/__init__.py: COURSE_TOTAL, an instructor's decision);
    the master's points are the declarations' (test_every_graded_cell_has_a_complete_declaration), and add up to it."""
    points = {m["grade_id"]: m["points"] for _, _, m in graded_cells(source_nb) if m.get("grade")}
    auto, manual = sum(parts.AUTOGRADED.values()), sum(q.points for q in parts.QUESTIONS)
    assert sum(points.values()) == parts.TOTAL == parts.COURSE_TOTAL, (
        f"the parts add up to {parts.TOTAL:g} points ({auto:g} autograded, {manual:g} for the 思考题; the master's cells: "
        f"{sum(points.values()):g}), but the course is declared at {parts.COURSE_TOTAL:g}: either set COURSE_TOTAL = "
        f"{parts.TOTAL:g} in grading/parts/__init__.py, or change the tests' points (Test(points=...) in grading/parts/) "
        f"by {parts.COURSE_TOTAL - parts.TOTAL:+g} in all; then run python tools/release.py")


def test_every_part_counts(source_nb):
    points = {m["grade_id"]: m["points"] for _, _, m in graded_cells(source_nb) if m.get("grade")}
    for name in PARTS + QUESTIONS:
        assert sum(p for gid, p in points.items() if part(gid) == name) > 0, f"{name} is worth nothing"


def test_test_cells_are_locked_and_hold_visible_and_hidden_tests(source_nb):
    tests = [(c, m) for _, c, m in graded_cells(source_nb) if m.get("grade") and not m.get("solution")]
    assert len(tests) == len(parts.TESTS), f"{len(tests)} test cells in the master, {len(parts.TESTS)} declared"
    for cell, m in tests:
        assert m.get("locked"), f"{m['grade_id']} is not locked"
        visible, _ = hidden_tests.split_test(cell.source, m["grade_id"])  # one lab2_probe.check('<grade_id>', ...)
        assert "assert" in visible and "print(" in visible, f"{m['grade_id']}: no visible check that prints"
        assert m["grade_id"] in parts.TESTS, f"{m['grade_id']}: no part declares it (grading/parts/)"


def test_the_manual_answer_cells_are_the_declared_questions(source_nb):
    manual = [m["grade_id"] for _, c, m in graded_cells(source_nb)
              if m.get("grade") and m.get("solution") and c.cell_type == "markdown"]
    assert manual == [q.answer for q in parts.QUESTIONS]


def test_each_answer_cell_is_followed_at_once_by_its_tests(source_nb):
    cells = source_nb.cells
    for i, cell in enumerate(cells):
        answer = meta(cell)
        if not (answer.get("solution") and cell.cell_type == "code"):
            continue
        following = []
        for nxt in cells[i + 1:]:
            m = meta(nxt)
            if not (m.get("grade") and not m.get("solution")):
                break
            following.append(m["grade_id"])
        assert following and all(part(g) == part(answer["grade_id"]) for g in following), \
            f"{answer['grade_id']} is followed by {following}"


def test_each_question_has_a_rubric_for_the_grader(source_nb):
    """The prompt of every 思考题 is a locked 0-point task cell (nbgrader's "manually graded task") whose mark
    scheme lists the reference points with their share of the question's points; the answer cell follows. The
    mark scheme's delimiters are HTML comments, which the grading page does not render as headings."""
    cells = source_nb.cells
    rubrics = [(i, c) for i, c in enumerate(cells) if meta(c).get("task")]
    assert [meta(c)["grade_id"] for _, c in rubrics] == [q.rubric for q in parts.QUESTIONS]
    for (i, cell), question in zip(rubrics, parts.QUESTIONS):
        rubric = meta(cell)
        assert rubric["locked"] and rubric["points"] == 0 and cell.cell_type == "markdown"
        assert "### BEGIN MARK SCHEME" not in cell.source and "### END MARK SCHEME" not in cell.source
        scheme = cell.source.split(BEGIN_MARK_SCHEME + "\n", 1)[1].split("\n" + END_MARK_SCHEME, 1)[0]
        assert "评分要点" in scheme and all(line.startswith(">") for line in scheme.splitlines()), scheme
        shares = [int(p) for p in re.findall(r"[((](\d+) 分[))]", scheme)]
        assert sum(shares) == question.points and len(shares) >= 3, f"{rubric['grade_id']}: the points split {shares}"
        answer = meta(cells[i + 1])
        assert answer["grade_id"] == question.answer and answer["points"] == question.points


def test_every_experiment_cell_is_tagged(source_nb):
    """What autograde skips and the tests select is decided by tags: every code cell outside nbgrader's cells is
    an experiment (course.EXPERIMENT); a cell that runs an experiment carries RUN and that experiment's
    tag, and each experiment has its runs."""
    runs = set()
    for cell in source_nb.cells:
        if cell.cell_type != "code" or meta(cell):
            continue
        assert EXPERIMENT in tags(cell), f"an untagged code cell: {cell.source[:80]!r}"
        if RUN in tags(cell):
            assert experiment_of(cell), f"a run cell of no experiment: {cell.source[:80]!r}"
            runs.add(experiment_of(cell))
    assert runs == set(EXPERIMENTS)


def test_every_graded_cell_has_a_complete_declaration(source_nb):
    """The master and grading/parts/ agree: every test cell is a declared test with the declared points, its
    hidden line passes the part's object, each part's answer cell comes before its tests, each 思考题 has its
    rubric and answer; and nothing is declared that the master lacks."""
    cells = {meta(c)["grade_id"]: (c, meta(c)) for c in source_nb.cells if meta(c).get("grade_id")}
    tests = {gid for gid, (c, m) in cells.items() if m.get("grade") and not m.get("solution") and c.cell_type == "code"}
    assert tests == set(parts.TESTS), f"master only: {tests - set(parts.TESTS)}, declared only: {set(parts.TESTS) - tests}"
    order = list(cells)
    for p in parts.PARTS:
        assert p.answer in cells and cells[p.answer][1].get("solution"), f"{p.name}: no answer cell {p.answer}"
        for test in p.tests:
            cell, m = cells[test.grade_id]
            assert m["points"] == test.points, f"{test.grade_id}: {m['points']} points in the master, {test.points} declared"
            _, call = hidden_tests.split_test(cell.source, test.grade_id)
            assert [a.id for a in call.args[1:]] == [p.obj], f"{test.grade_id}: the hidden line does not pass {p.obj}"
            assert order.index(p.answer) < order.index(test.grade_id) and test.title and test.plan(1)["cases"]
    for question in parts.QUESTIONS:
        assert cells[question.rubric][1].get("task") and cells[question.answer][1]["points"] == question.points
    assert [p.order for p in parts.PARTS] == sorted({p.order for p in parts.PARTS}), "two parts share an order"


# names that are not parts though they are spelled like one: the notebook's experiments (its tags) and torch's ops
NOT_PARTS = {("course.py", "EXPERIMENTS"), ("grading/rules/allowlists.py", "LIBRARY_ACTIVATIONS")}


def test_nothing_outside_the_declarations_names_a_part():
    """A part is named in grading/parts/ (and the master, and the corpus that tests it): the grader, the tools and
    the course module take every part, grade id and object name from the declarations."""
    import ast

    from course import ROOT
    names = (set(parts.NAMES) | set(parts.QUESTION_NAMES) | set(parts.AUTOGRADED) | {p.obj for p in parts.PARTS}
             | {p.answer for p in parts.PARTS} | {q.answer for q in parts.QUESTIONS} | {q.rubric for q in parts.QUESTIONS})
    files = [ROOT / "course.py", ROOT / "nbgrader_config.py"] + [
        f for folder in ("grading", "tools") for f in sorted((ROOT / folder).rglob("*.py"))
        if (ROOT / "grading" / "parts") not in f.parents]
    found = []
    for path in files:
        relative = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
                and n.body and isinstance(n.body[0], ast.Expr)}  # docstrings
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any((relative, getattr(t, "id", "")) in NOT_PARTS for t in node.targets):
                skip |= {id(n) for n in ast.walk(node.value)}
        found += [f"{relative}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in names and id(node) not in skip]
    assert not found, "parts named outside grading/parts/: " + "; ".join(found)


def test_feedback_names_every_part_test_and_answer(source_nb):
    """The feedback page names each part, test cell and answer (grading/feedback.py: NAMES), never by its grade id."""
    graded = [m["grade_id"] for _, _, m in graded_cells(source_nb) if m.get("grade")]
    missing = [key for key in list(PARTS + QUESTIONS) + graded if key not in feedback.NAMES]
    assert not missing, f"grading/feedback.py NAMES has no name for {missing}"


def test_each_test_cell_first_gives_the_rules_advice(source_nb):
    """Every rule that can cost points is checked in the visible tests, as advice: each test cell starts with
    lab2_rules.advise('<its grade id>', <its part's object>), from the locked rules cell (generated from
    grading/rules/advice.py by tools/release.py) that comes before the first answer cell."""
    ids = [meta(c).get("grade_id") for c in source_nb.cells]
    rules_cell = source_nb.cells[ids.index("lab2_rules")]
    assert meta(rules_cell).get("locked") and ids.index("lab2_rules") < min(ids.index(p.answer) for p in parts.PARTS)
    for gid, (p, _) in parts.TESTS.items():
        first_code = source_nb.cells[ids.index(gid)].source.splitlines()[1]
        assert first_code.startswith(f"lab2_rules.advise('{gid}', {p.obj})"), f"{gid}: {first_code}"
