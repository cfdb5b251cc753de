"""The graded parts of the lab, one declaration each (in the spirit of PrairieLearn's one folder per question).

Every module of this package that defines `PART` declares one autograded part: its answer cell, the object
the hidden tests' probe line passes, its tests (grade id, points, title, the plan of inputs and the judgement),
the rules its code must follow, its messages, and a typical mistake for the sample class. `questions.py`
declares the 思考题. Everything else (the grader, the reports, the tests) reads them from here:

    from grading import parts
    parts.PARTS                 # the parts, in notebook order
    parts.test("relu_value")    # (its Part, its Test)
    parts.AUTOGRADED            # the points of every autograded test, 65 in all

Adding a part: write its module here, its cells in the master notebook (answer cell, then its test cells,
each with the one-line hidden test `lab2_probe.check('<grade id>', <object>)`), and its variants in
tests/corpus.py. tests/test_metadata.py checks that the master and the declarations agree.
"""
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Test:
    """One autograded test cell."""
    grade_id: str
    points: float
    title: str        # what it checks, for people (feedback, reports): "ReLU 的导数"
    plan: Callable    # seed -> {"collector", "inputs", "cases", ...}: what the probe calls, on which inputs
    judge: Callable   # (part, plan, meta, arrays, compared) -> None; raises judging.Failed (a mistake id, a message)
    reference: str = ""  # torch's function of an activation's value test: the gradient its value must carry


@dataclass(frozen=True)
class Part:
    """One autograded part: an answer cell and the test cells that follow it."""
    name: str           # every grade id of the part starts with it: "relu_value"
    order: int          # its place in the notebook (tables list the parts in this order)
    title: str          # for people (feedback, reports): "ReLU", "前向传播"
    code: str           # what the student writes, for people: "MyReLU", "Network.forward"
    answer: str         # the grade id of its answer cell
    obj: str            # the name the hidden tests pass to the probe: "MyReLU"
    tests: tuple        # its Tests, in notebook order
    ops: str = None             # the allowlist of ops its code may run (a key of grading/rules/allowlists.py's ALLOWLISTS);
                                # None: no rule (Network.forward is graded with an activation the grader knows)
    in_torch: bool = False      # its data must stay in torch (no .numpy(), .tolist(), Python number per element)
    derivative: bool = False    # its code holds a derivative (no autograd there)
    sample_mistake: tuple = ()  # (old, new): an edit of the master's solution, a typical mistake
    sample_fails: tuple = ()    # the grade ids that mistake fails
    done_in_partial_sample: bool = False    # the sample class's partly done submission has done this part

    @property
    def points(self):
        return sum(t.points for t in self.tests)

    @property
    def heading(self):
        return f"{self.title}({self.code})"


@dataclass(frozen=True)
class Question:
    """One 思考题: graded by hand, with its rubric (a 0-point task cell) for the grader."""
    name: str
    title: str
    points: float
    rubric: str = field(init=False)
    answer: str = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "rubric", f"{self.name}_rubric")
        object.__setattr__(self, "answer", f"{self.name}_answer")


def _discover():
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "PART"):
            found.append(module.PART)
    return tuple(sorted(found, key=lambda p: p.order))


PARTS = _discover()
BY_NAME = {p.name: p for p in PARTS}
TESTS = {t.grade_id: (p, t) for p in PARTS for t in p.tests}
AUTOGRADED = {gid: t.points for gid, (_, t) in TESTS.items()}   # grade id -> points
NAMES = tuple(BY_NAME)                                            # "relu", "sigmoid", ...

from grading.parts.questions import QUESTIONS  # noqa: E402  (the 思考题, declared in their own module)

QUESTION_NAMES = tuple(q.name for q in QUESTIONS)
TOTAL = sum(AUTOGRADED.values()) + sum(q.points for q in QUESTIONS)


def test(grade_id):
    """(Part, Test) of an autograded grade id; KeyError for any other."""
    return TESTS[grade_id]


def part_of(grade_id):
    """The Part or Question a grade id belongs to (its prefix), or None (setup and helper cells)."""
    prefix = grade_id.split("_")[0]
    return BY_NAME.get(prefix) or next((q for q in QUESTIONS if q.name == prefix), None)


def is_manual(grade_id):
    return any(grade_id in (q.rubric, q.answer) for q in QUESTIONS)


def names():
    """grade id or part -> what it is, for people: every part, test, 思考题 and its answer (the feedback page)."""
    result = {}
    for p in PARTS:
        result[p.name] = p.heading
        result.update({t.grade_id: t.title for t in p.tests})
    for q in QUESTIONS:
        result.update({q.name: q.title, q.answer: f"{q.title} 的回答"})
    return result
