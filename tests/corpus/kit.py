"""What the corpus's modules share: the kinds of variants, a Variant, and the Kit each module's `variants(kit)`
writes its variants with (the solutions, edits of them, the answer cells of each part written from a body, the
mistakes every trick is paired with)."""
from dataclasses import dataclass

from tools import submissions
from course import is_test, meta
from grading.parts import part_name as part
from grading.rules.finding_kinds import FINDING_KINDS

CORRECT, MISTAKE, POLICY, TRICK, REVIEW, TAMPER = "correct", "mistake", "policy", "trick", "review", "tamper"
# REVIEW: code the grader cannot read; every test after it is held at 0 for a TA's review ("needs_review")
# TAMPER: code that changes the grading kernel, written with honest code elsewhere: every test after it scores 0
# the verdict of every test after the cell:
HELD = {REVIEW: FINDING_KINDS["unreadable_code"].mistake, TAMPER: FINDING_KINDS["tampering"].mistake}


@dataclass
class Variant:
    name: str
    kind: str
    answers: dict                      # grade_id -> source of the answer cell
    must_fail: frozenset = frozenset()  # test cells that must score 0
    may_fail_anywhere: bool = False    # tricks may break other parts too; the wrong parts must still fail
    message: str = ""                  # text the failing cells' messages must contain
    tag_tests: bool = False            # tag every test cell 'skip-execution'
    extra_cell: str = ""               # a code cell of its own, placed before the first answer cell
    reported: str = ""                 # what the integrity report must say about it
    family: str = ""                   # the family it belongs to, in the closing tables (tests/test_corpus.py)
    review_from: str = ""              # REVIEW: the answer cell whose unreadable code holds the tests after it
    compares: bool = True              # MISTAKE: its message shows a number (False: the code's shape is wrong, e.g.
    #                                    no class, no method: nothing could be compared)
    mistakes: frozenset = frozenset()  # the mistake ids it claims: the grader gives each of them to one of its test
    #                                    cells, on the data alone or as the verdict (tests/test_corpus.py checks it;
    #                                    tests/test_corpus_claims.py that every declared id is claimed by a variant)

    def __post_init__(self):
        self.mistakes = frozenset(self.mistakes) | ({HELD[self.kind]} if self.kind in HELD and self.must_fail else set())

    @property
    def parts(self):
        return {part(gid) for gid in self.must_fail}


def activation_class(name, call, deriv):
    """The source of an activation class whose methods are the given one-line bodies."""
    return f"class {name}:\n    def __call__(self, x):\n        {call}\n\n    def derivative(self, x):\n        {deriv}\n"


def tests_after(source_nb, cell):
    """The grade ids of the test cells after answer cell `cell` in the notebook."""
    ids = [meta(c).get("grade_id") for c in source_nb.cells]
    return {gid for gid in ids[ids.index(cell):] if gid and is_test(source_nb.cells[ids.index(gid)])}


SIGMOID_DERIVATIVE = "s = self(x)\n        return s * (1 - s)"  # the derivative of a variant about MySigmoid.__call__
ALL_FORWARD = {"forward_relu", "forward_sigmoid", "forward_tanh"}
# the mistakes every trick is paired with (tests/corpus/tricks.py, kernel_tampering.py): they pass every visible test
WRONG_CELLS = {"relu_value", "relu_derivative", "l2_value", "l2_grad", "dropout_stats", "dropout_mask"}


class Kit:
    """The corpus being written from the source notebook: each module's `variants(kit)` adds to `kit.variants`."""

    def __init__(self, source_nb):
        self.source_nb = source_nb
        self.sol = submissions.solutions(source_nb)
        self.variants = []

    def add(self, name, kind, answers, must_fail=(), **kw):
        self.variants.append(Variant(name, kind, answers, frozenset(must_fail), **kw))

    def review(self, name, cell, code, family, extra_cell="", mistakes=()):
        """Unreadable code in answer cell `cell`: every test after that cell waits for review (and claims so)."""
        self.add(name, REVIEW, {cell: code}, tests_after(self.source_nb, cell), review_from=cell, family=family,
                 reported="unreadable code", extra_cell=extra_cell, message="助教复核", mistakes=mistakes)

    def edit(self, gid, old, new):
        """The solution's answer cell `gid` with `old` replaced by `new` (which must be there)."""
        return submissions.edit(self.sol[gid], old, new)

    # the answer cell of a part, written from what differs
    def relu(self, call, deriv):
        return {"relu_impl": activation_class("MyReLU", call, deriv)}

    def sig(self, call, deriv):
        return {"sigmoid_impl": activation_class("MySigmoid", call, deriv)}

    def tanh(self, call, deriv):
        return {"tanh_impl": activation_class("MyTanh", call, deriv)}

    def fwd(self, body):
        """Network with `body` in place of forward's code after its last comment."""
        return {"forward_impl": submissions.edit(self.sol["forward_impl"], self.sol["forward_impl"].split(
            "# 4. 最后通过输出层返回结果\n", 1)[1], body)}

    def l2(self, body):
        return {"l2_impl": f"def l2_penalty(w):\n    return {body}\n"}

    def drop_mask(self, mask):
        """dropout_layer with another mask."""
        return {"dropout_impl": self.edit(
            "dropout_impl", "mask = (torch.rand(X.shape, device=device) > dropout).to(X.dtype)", f"mask = {mask}")}

    def drop_fn(self, body):
        return {"dropout_impl": f"def dropout_layer(X, dropout):\n    assert 0 <= dropout <= 1\n{body}"}

    @property
    def wrong(self):
        """Mistakes that pass every visible test: ReLU wrong only beyond |x| > 10 (value and derivative), l2 of the
        first four weights only, dropout that always rescales by 2 (right for p = 0.5 only). Every trick is paired
        with them and must earn nothing for them (WRONG_CELLS)."""
        return {"relu_impl": self.relu("return torch.where(x.abs() > 10, x, x.clamp(min=0))",
                                       "return torch.where(x < -10, torch.ones_like(x), (x > 0).to(x.dtype))")[
                    "relu_impl"],
                "l2_impl": self.l2("(w.flatten()[:4] ** 2).sum() / 2")["l2_impl"],
                "dropout_impl": self.edit("dropout_impl", "return mask * X / (1.0 - dropout)", "return mask * X * 2")}
