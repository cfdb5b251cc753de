"""The hidden tests' judgement, in this process and in seconds: the master's solutions pass every hidden
test, and typical mistakes fail with their mistake id and a Chinese message that shows the number compared.
The same plan, probe message and judgement as autograde (grading/lab2_grader.py), without a kernel; the
corpus (tests/test_corpus.py) proves them through the real nbgrader."""
import re

import pytest

from grading import lab2_grader, lab2_probe, parts
from tools import submissions
from course import autograded_points, meta, strip_markers
from grading.parts import part_name as part

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def solutions(source_nb):
    """The master's setup and answer cells run in one namespace: MyReLU, ..., dropout_layer."""
    namespace = {}
    setup = next(c for c in source_nb.cells if meta(c).get("grade_id") == "setup")
    exec(compile(setup.source, "setup", "exec"), namespace)
    for gid, source in submissions.solutions(source_nb).items():
        if gid.endswith("_impl"):
            exec(compile(source, gid, "exec"), namespace)
    return namespace


OBJECTS = {p.name: p.obj for p in parts.PARTS}  # what each part's hidden tests pass to the probe


def verdict(grade_id, obj, seed=7):
    plan = lab2_grader.plan(grade_id, seed, token="t")
    return lab2_grader.judge(grade_id, plan, lab2_probe.encode(*lab2_probe.collect(plan, (obj,))))


def test_the_masters_solutions_pass_every_hidden_test(source_nb, solutions):
    for grade_id in autograded_points(source_nb):
        result = verdict(grade_id, solutions[OBJECTS[part(grade_id)]])
        assert result.passed, f"{grade_id}: {result.mistake} {result.message}"


def define(solutions, source):
    namespace = dict(solutions)
    exec(source, namespace)
    return namespace


MISTAKES = [  # (grade id, the wrong code, the mistake id, text of the message)
    ("relu_derivative", "class W(MyReLU):\n    def derivative(self, x): return (x >= 0).float()",
     "relu_derivative_at_zero", "x = 0 处应为 0"),
    ("relu_value", "class W(MyReLU):\n    def __call__(self, x): return torch.where(x.abs() > 10, x, x.clamp(min=0))",
     "relu_value_mismatch", "x = -20"),
    ("sigmoid_derivative", "class W(MySigmoid):\n    def derivative(self, x):\n        s = self(x)\n        return s * (1 + s)",
     "sigmoid_derivative_at_zero", "0.25"),
    ("tanh_value", "class W(MyTanh):\n    def __call__(self, x): return torch.tanh(x)", "tanh_op_not_allowed", "torch.tanh"),
    ("l2_value", "def W(w): return torch.sum(w.pow(2))", "l2_missing_half", "忘了除以 2"),
    ("l2_grad", "def W(w): return torch.tensor(torch.sum(w.pow(2)).item() / 2)", "l2_cut_from_graph", "计算图"),
    ("dropout_stats", "def W(X, p):\n    return (torch.rand(X.shape) > p).to(X.dtype) * X", "dropout_no_rescale", "1/(1-p)"),
    ("dropout_mask", "_kept = []\ndef W(X, p):\n    if p in (0, 1):\n        return X * (1 - p)\n"
     "    m = (torch.rand(X.shape, generator=torch.Generator().manual_seed(0)) > p).to(X.dtype)\n"
     "    out = m * X / (1 - p)\n    for old in _kept:\n        if old.shape == out.shape:\n"
     "            old.mul_(torch.flip(m, [0]))  # rewrites a result the grader already holds\n"
     "    _kept.append(out)\n    return out", "dropout_same_mask", "相同的掩码"),
    ("forward_relu", "class W(Network):\n    def forward(self, x): return self.activation(super().forward(x))",
     "forward_mismatch", "输出层后不接激活"),
]


RULES = ("_op_not_allowed", "_leaves_torch", "_autograd", "_cuts_graph")
MISTAKES += [  # the parts' rules (grading/rules/allowlists.py), judged on what the code ran
    ("sigmoid_value", "class W(MySigmoid):\n    def __call__(self, x): return 0.5 * (1 + torch.tanh(x / 2))",
     "sigmoid_op_not_allowed", "torch.tanh"),
    ("tanh_value", "class W(MyTanh):\n    def __call__(self, x): return 2 * torch.sigmoid(2 * x) - 1",
     "tanh_op_not_allowed", "torch.sigmoid"),
    ("relu_value", "class W(MyReLU):\n    def __call__(self, x): return torch.nn.functional.hardtanh(x, 0, float('inf'))",
     "relu_op_not_allowed", "hardtanh"),
    ("sigmoid_value", "class W(MySigmoid):\n    def __call__(self, x):\n"
     "        return torch.softmax(torch.stack([x, torch.zeros_like(x)]), 0)[0]", "sigmoid_op_not_allowed", "softmax"),
    ("tanh_value", "import numpy\nclass W(MyTanh):\n    def __call__(self, x):\n"
     "        return torch.from_numpy(numpy.tanh(x.numpy()))", "tanh_leaves_torch", ".numpy()"),
    ("relu_value", "class W(MyReLU):\n    def __call__(self, x):\n"
     "        return torch.tensor([max(v, 0.0) for v in x.reshape(-1).tolist()], dtype=x.dtype).reshape(x.shape)",
     "relu_leaves_torch", ".tolist()"),
    ("relu_value", "class W(MyReLU):\n    def __call__(self, x): return x.detach().clamp(min=0)",
     "relu_cuts_graph", "计算图"),
    ("tanh_derivative", "class W(MyTanh):\n    def derivative(self, x):\n        x = x.detach().requires_grad_()\n"
     "        self(x).sum().backward()\n        return x.grad", "tanh_autograd", "自动求导"),
    ("dropout_stats", "def W(X, p): return torch.nn.functional.dropout(X, p)", "dropout_op_not_allowed", "dropout"),
    ("dropout_stats", "def W(X, p): return torch.nn.Dropout(p)(X)", "dropout_op_not_allowed", "dropout"),
    ("l2_value", "def W(w): return torch.nn.functional.mse_loss(w, torch.zeros_like(w), reduction='sum') / 2",
     "l2_op_not_allowed", "mse_loss"),
]


@pytest.mark.parametrize("grade_id,code,mistake,text", MISTAKES, ids=[f"{m[2]}-{i}" for i, m in enumerate(MISTAKES)])
def test_a_typical_mistake_fails_with_its_id_and_a_message(solutions, grade_id, code, mistake, text):
    result = verdict(grade_id, define(solutions, code)["W"])
    assert not result.passed and result.mistake == mistake, (result.mistake, result.message)
    assert text in result.message and CJK.search(result.message)
    if not mistake.endswith(RULES):  # the others show the number they compared
        assert re.search(r"\d", result.message + "".join(result.lines)), result.message


def test_data_that_is_not_the_probes_earns_nothing(solutions):
    plan = lab2_grader.plan("relu_value", 7, token="t")
    meta = '{"meta": {"token": "t", "grade_id": "relu_value"}}'
    for message in (None, "not json", (meta, b""), (meta, None), (meta, b"PK\x03\x04 not a zip"), ("not json", b""),
                    lab2_probe.encode(*lab2_probe.collect(dict(plan, token="other"), (solutions["MyReLU"],)))):
        result = lab2_grader.judge("relu_value", plan, message)
        assert not result.passed and result.mistake in ("no_probe_data", "probe_data_invalid"), result


def test_hidden_tests_strip_to_the_probe_line(source_nb):
    for cell in source_nb.cells:
        if meta(cell).get("grade") and not meta(cell).get("solution") and cell.cell_type == "code":
            assert "lab2_probe.check(" in strip_markers(cell.source)
