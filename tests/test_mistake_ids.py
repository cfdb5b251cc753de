"""Mistake ids, declared on each Test (grading/parts/): the judging code raises only declared ids, each declared id
is one the code can raise, and the grader refuses an undeclared one as its own bug. (That every declaration is
reached by a variant of the corpus: tests/test_corpus.py, on the corpus's grading.)"""
import ast
import re
from pathlib import Path

import pytest

from grading import judging, lab2_grader, parts
from grading.rules import allowlists
from grading.rules.finding_kinds import FINDING_KINDS

GRADING = Path(lab2_grader.__file__).parent
JUDGING_CODE = [GRADING / "judging.py", GRADING / "lab2_grader.py", *sorted((GRADING / "parts").glob("*.py"))]


def parts_judged_in(path):
    """The parts whose tests' judgements live in module `path` (judging.py and lab2_grader.py: every part)."""
    module = f"grading.parts.{path.stem}"
    found = {p for p, t in parts.TESTS.values() if getattr(t.judge, "func", t.judge).__module__ == module}
    return found or (set(parts.PARTS) if path.parent == GRADING else set())


def declared_for(part_set):
    return set().union(*(parts.MISTAKES[t.grade_id] for p in part_set for t in p.tests))


def ids_in(path):
    """(literal ids, suffixes of f"{part}_<suffix>") that module `path` can give a verdict: every f"{part}_<suffix>"
    that is not a grade id, and every string that looks like one of its parts' ids (`mistake = "dropout_shape"`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {p.name for p in parts_judged_in(path)}
    not_ids = {name for p in parts.PARTS for name in (p.answer, p.obj, p.code)} | set(parts.TESTS)
    not_suffixes = {gid[len(parts.part_name(gid)) + 1:] for gid in not_ids if parts.part_name(gid)}  # f"{name}_value"
    literal, suffixes = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and len(node.values) == 2 and isinstance(node.values[0], ast.FormattedValue) \
                and isinstance(node.values[1], ast.Constant) and node.values[1].value.startswith("_") \
                and node.values[1].value[1:] not in not_suffixes:
            suffixes.add(node.values[1].value[1:])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value not in not_ids \
                and re.fullmatch(rf"({'|'.join(names)})_[a-z0-9_]+", node.value or "-"):
            literal.add(node.value)
    return literal, suffixes


@pytest.mark.parametrize("path", [p for p in JUDGING_CODE if p.name != "__init__.py"], ids=lambda p: p.name)
def test_every_id_in_the_judging_code_is_declared(path):
    owners = parts_judged_in(path)
    literal, suffixes = ids_in(path)
    declared = declared_for(owners)
    assert literal <= declared, f"{path.name} gives undeclared ids: {sorted(literal - declared)}"
    if path.parent == GRADING:  # the helpers every part's judgements call: each id declared for the parts that use it
        missing = {s for s in suffixes if not any(f"{p.name}_{s}" in declared for p in owners)}
    else:
        missing = {f"{p.name}_{s}" for p in owners for s in suffixes} - declared
    assert not missing, f"{path.name} gives undeclared ids: {sorted(missing)}"


def test_every_declared_id_is_one_the_code_can_give():
    """A test's own declared ids are written in its judgement's module or in judging.py, whose helpers it calls
    (literally, or as f"{part}_<suffix>")."""
    helpers = ids_in(GRADING / "judging.py")[1]
    for part, test in parts.TESTS.values():
        path = GRADING / "parts" / f"{getattr(test.judge, 'func', test.judge).__module__.rsplit('.', 1)[1]}.py"
        literal, suffixes = ids_in(path)
        suffixes |= helpers
        dead = [s for s in test.mistakes if s not in suffixes and f"{part.name}_{s}" not in literal]
        assert not dead, f"{test.grade_id} declares ids its judgement never gives: {dead}"


def test_the_shared_ids_are_declared_once_and_given_to_every_test_they_apply_to():
    for grade_id, declared in parts.DECLARED.items():
        part, test = parts.test(grade_id)
        ids = list(declared.values())
        assert len(ids) == len(set(ids)), f"{grade_id}: an id declared twice: {sorted(i for i in ids if ids.count(i) > 1)}"
        for shared in (*judging.RAN, *judging.RETURNED):
            assert f"{part.name}_{shared}" in ids
        assert {judging.NO_PROBE_DATA, judging.PROBE_DATA_INVALID, judging.GRADING_STOPPED,
                FINDING_KINDS["tampering"].mistake, FINDING_KINDS["unreadable_code"].mistake} <= set(ids)
        assert (f"{part.name}_{allowlists.MISTAKES['op']}" in ids) == (part.ops is not None)
        assert (f"{part.name}_{allowlists.MISTAKES['leaves_torch']}" in ids) == part.in_torch
        assert (f"{part.name}_autograd" in ids) == (part.derivative and grade_id.endswith("_derivative"))
        assert all((f"{part.name}_{s}" in ids) == (part.ops is not None) for s in judging.WITH_RULES)


def test_a_verdict_with_an_undeclared_id_is_the_graders_bug():
    failed = lab2_grader.Verdict(False, [], "relu_value_mismatch", "…")
    assert lab2_grader.declared("relu_value", failed) is failed
    assert lab2_grader.declared("relu_value", lab2_grader.Verdict(True)).passed
    with pytest.raises(lab2_grader.GraderBug, match="not declared for relu_value"):
        lab2_grader.declared("relu_value", lab2_grader.Verdict(False, [], "relu_made_up", "…"))
    with pytest.raises(lab2_grader.GraderBug):  # another test's id
        lab2_grader.declared("relu_value", lab2_grader.Verdict(False, [], "relu_derivative_at_zero", "…"))
