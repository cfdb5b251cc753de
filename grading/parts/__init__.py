"""The graded parts of the lab, one declaration each (in the spirit of PrairieLearn's one folder per question).

Every module of this package that defines `PART` declares one autograded part: its answer cell, the object
the hidden tests' probe line passes, its tests (grade id, points, title, the plan of inputs and the judgement),
the rules its code must follow, its messages, and a typical mistake for the sample class. `questions.py`
declares the 思考题. Everything else (the grader, the reports, the tests) reads them from here:

    from grading import parts
    parts.PARTS                 # the parts, in notebook order
    parts.test("relu_value")    # (its Part, its Test)
    parts.AUTOGRADED            # the points of every autograded test
    parts.MISTAKES["relu_value"]  # every mistake id that test can give (its Test's own, and the shared ones)
    parts.part_name("l2_grad")  # "l2": the declared part or 思考题 a grade id starts with
    parts.COURSE_TOTAL          # the course's total, declared: the parts and the 思考题 add up to it

Adding a part: `python tools/new_part.py NAME` writes its module here, its cells in the master notebook (answer
cell, then its test cells, each with the one-line hidden test `lab2_probe.check('<grade id>', <object>)`) and its
variants in tests/corpus/NAME.py (README, "To add a part"). A part's name may hold underscores: a grade id's part
is the declared name it starts with (part_name). tests/test_metadata.py checks that the master and the declarations
agree, tests/test_mistake_ids.py that the judging code gives only declared mistake ids, tests/test_corpus_claims.py
that some variant of the corpus claims each of them.
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
    mistakes: tuple = ()  # the mistake ids its judgement raises itself, without the part's name ("value_mismatch":
    #                       relu_value_mismatch); the ones every test shares are declared once, in shared_mistakes()


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
    section: str = ""   # its row in the master's points table (tools/points.py); parts of one section share a row
    #                     (the three activations: "激活函数"); default: its title

    @property
    def points(self):
        return sum(t.points for t in self.tests)

    @property
    def heading(self):
        return f"{self.title}({self.code})"

    @property
    def row(self):
        """Its row in the master's points table."""
        return self.section or self.title


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


def shared_mistakes(part, test):
    """{declaration: mistake id} of the ids a test can emit that are declared once for every test that shares them:
    the call that did not run (judging.RAN), what it returned (judging.RETURNED), the part's rules (allowlists.MISTAKES),
    the findings in the submitted code (finding_kinds: tampering, unreadable code, autograd in a derivative) and the
    grader's own (no data from the kernel, invalid data, grading stopped)."""
    from grading import judging
    from grading.rules import allowlists
    from grading.rules.finding_kinds import DERIVATIVE, FINDING_KINDS

    found = {f"judging.RAN:{s}": f"{part.name}_{s}" for s in judging.RAN}
    found.update({f"judging.RETURNED:{s}": f"{part.name}_{s}" for s in judging.RETURNED})
    derivative_test = part.derivative and test.grade_id.endswith("_derivative")
    rules = [kind for kind, applies in (("op", part.ops is not None), ("leaves_torch", part.in_torch)) if applies]
    found.update({f"allowlists.MISTAKES:{kind}": f"{part.name}_{allowlists.MISTAKES[kind]}" for kind in rules})
    for kind, declared in FINDING_KINDS.items():  # autograd in a derivative: the allowlists' rule gives this id too
        if declared.mistake and (declared.cost != DERIVATIVE or derivative_test):
            found[f"finding_kinds:{kind}"] = declared.mistake.format(part=part.name)
    found.update({f"judging.{name}": getattr(judging, name) for name in judging.GRADER_MISTAKES})
    if part.ops is not None:
        found.update({f"judging.WITH_RULES:{s}": f"{part.name}_{s}" for s in judging.WITH_RULES})
    return found


def own_mistakes(part, test):
    """{declaration: mistake id} of the ids a test declares itself (on its Test; a declaration is named by the module
    of its judgement, so the three activations share grading/parts/activation.py's)."""
    judge = getattr(test.judge, "func", test.judge)
    return {f"{judge.__module__}:{s}": f"{part.name}_{s}" for s in test.mistakes}


def declared_mistakes(part, test):
    """{declaration: mistake id} of every id a test can emit: its own and the shared ones."""
    return dict(own_mistakes(part, test), **shared_mistakes(part, test))


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
DECLARED = {gid: declared_mistakes(p, t) for gid, (p, t) in TESTS.items()}  # grade id -> {declaration: mistake id}
MISTAKES = {gid: frozenset(d.values()) for gid, d in DECLARED.items()}   # grade id -> the mistake ids it can emit


def declarations(part=None):
    """declaration -> the mistake ids it declares, over every test (a shared one: one id per part that shares it);
    for one part (its name), only its tests' own declarations, with that part's ids (tools/check_part.py)."""
    result = {}
    for gid, declared in DECLARED.items():
        if part is not None:
            if TESTS[gid][0].name != part:
                continue
            declared = own_mistakes(*TESTS[gid])
        for where, mistake in declared.items():
            result.setdefault(where, set()).add(mistake)
    return result

from grading.parts.questions import QUESTIONS  # noqa: E402  (the 思考题, declared in their own module)

QUESTION_NAMES = tuple(q.name for q in QUESTIONS)
# The course's total: an instructor's decision, declared here once. The autograded parts and the 思考题 must add up to
# it (tests/test_metadata.py says by how much they do not); a new part either takes its points from other tests
# (their Test(points=...)) or raises this number (tools/new_part.py raises it by the new part's points, and says so).
COURSE_TOTAL = 100
TOTAL = sum(AUTOGRADED.values()) + sum(q.points for q in QUESTIONS)  # what the declarations add up to


def test(grade_id):
    """(Part, Test) of an autograded grade id; KeyError for any other."""
    return TESTS[grade_id]


def part_name(grade_id):
    """The name of the part or 思考题 a grade id belongs to: the longest declared name it starts with, followed by "_"
    (`dropout_stats` -> `dropout`, `leaky_relu_value` -> `leaky_relu`); "" for any other cell (setup, helpers)."""
    return max((n for n in NAMES + QUESTION_NAMES if grade_id.startswith(n + "_")), key=len, default="")


def part_of(grade_id):
    """The Part or Question a grade id belongs to, or None (setup and helper cells)."""
    name = part_name(grade_id)
    return BY_NAME.get(name) or next((q for q in QUESTIONS if q.name == name), None)


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
