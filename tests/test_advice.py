"""grading/rules/advice.py and the notebook's rules cell made of it: a few lines, its source hidden, holding the
advice and the modules it imports (nothing else of the grader), and saying in the student's kernel what the
grader's rules decide. (That it agrees with the grader on every corpus variant: tests/test_corpus.py.)"""
import ast
import base64
import sys
import zlib

import nbformat
import torch

from conftest import RELEASE_NB
from course import ROOT, meta
from grading import rules_cell
from tools import release


def rules_cell_of(path):
    nb = nbformat.read(str(path), as_version=4)
    return next(c for c in nb.cells if meta(c).get("grade_id") == rules_cell.CELL_ID)


def test_the_students_rules_cell_is_a_few_lines_with_its_source_hidden():
    cell = rules_cell_of(RELEASE_NB)
    assert cell.metadata["jupyter"]["source_hidden"] is True and meta(cell)["locked"]
    assert len(cell.source.splitlines()) <= 25
    assert "TAMPERING" not in cell.source and "settrace" not in cell.source  # the scanner's lists are not shown


def test_the_cell_holds_the_advice_and_what_it_imports_and_nothing_else():
    cell = rules_cell_of(RELEASE_NB)
    packed = ast.literal_eval(cell.source.split("lab2_rules = _lab2_rules(", 1)[1].split(")\n", 1)[0])
    modules, data = ast.literal_eval(zlib.decompress(base64.b64decode(packed)).decode())
    names = [name for name, _ in modules]
    assert names[-1] == "advice" and set(names) == {"recorder", "allowlists", "finding_kinds", "inputs", "scanner",
                                                    "advice"}
    for name, source in modules:
        assert source == (ROOT / "grading" / "rules" / f"{name}.py").read_text(encoding="utf-8")
        imported = {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) and n.level}
        assert imported <= set(names[:names.index(name)]), f"{name} is loaded before what it imports"
    assert set(data) == set(release.advice_data())


class MyReLU:
    def forward(self, x):
        return torch.relu(x)

    def derivative(self, x):
        return (x > 0).to(x.dtype)

    def __call__(self, x):
        return self.forward(x)


class Honest(MyReLU):
    def forward(self, x):
        return torch.where(x > 0, x, torch.zeros_like(x))


def test_the_cell_runs_alone_and_advises_as_the_grader_judges(capsys):
    namespace = {}
    try:
        exec(rules_cell_of(RELEASE_NB).source, namespace)
        namespace["lab2_rules"].advise("relu_value", MyReLU)
        namespace["lab2_rules"].advise("relu_value", Honest)
    finally:  # the cell makes a package of the kernel's: lab2_rules and its modules
        for name in [m for m in sys.modules if m == "lab2_rules" or m.startswith("lab2_rules.")]:
            del sys.modules[name]
    assert namespace["lab2_rules"].__name__ == "lab2_rules.advice"
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("〔评分规则〕relu_value: relu_op_not_allowed —— ") and "torch.relu" in said[0], said
    assert said[1].startswith("〔评分规则〕relu_value: 没有发现违反评分规则的地方"), said
