"""The corpus of submissions that proves the hidden tests: generated from the source notebook.

Each variant is the complete solution with one or a few answer cells rewritten: another correct way
to write a part (must keep every point), a mistake students really make (must lose points in its
own part only, with a Chinese message that shows a number), a use of the library's own op (no points
for that part), or a trick against the tests (wrong code must earn nothing).
"""
from dataclasses import dataclass

import nbformat

from tools import submissions
from course import is_test, meta, part
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

    @property
    def parts(self):
        return {part(gid) for gid in self.must_fail}


def activation_class(name, call, deriv):
    """The source of an activation class whose methods are the given one-line bodies."""
    return f"class {name}:\n    def __call__(self, x):\n        {call}\n\n    def derivative(self, x):\n        {deriv}\n"


def corpus(source_nb):
    sol = submissions.solutions(source_nb)
    edit = lambda gid, old, new: submissions.edit(sol[gid], old, new)
    variants = []

    def add(name, kind, answers, must_fail=(), **kw):
        variants.append(Variant(name, kind, answers, frozenset(must_fail), **kw))

    def review(name, cell, code, family, extra_cell=""):
        """Unreadable code in answer cell `cell`: every test after that cell waits for review."""
        add(name, REVIEW, {cell: code}, tests_after(source_nb, cell), review_from=cell, family=family,
            reported="unreadable code", extra_cell=extra_cell, message="助教复核")

    # ------------------------------------------------------------------ ReLU
    relu = lambda call, deriv: {"relu_impl": activation_class("MyReLU", call, deriv)}
    add("relu_clamp", CORRECT, relu("return x.clamp(min=0)", "return (x > 0).to(x.dtype)"))
    add("relu_where", CORRECT, relu("return torch.where(x > 0, x, torch.zeros_like(x))",
                                    "return torch.where(x > 0, 1.0, 0.0)"))
    add("relu_mask_multiply", CORRECT, relu("return x * (x > 0)", "return (x > 0).float()"))
    add("relu_maximum_scalar", CORRECT, relu("return torch.maximum(x, torch.tensor(0.0))",
                                             "return torch.heaviside(x, torch.zeros_like(x))"))
    add("relu_derivative_one_at_zero", MISTAKE, relu("return x.clamp(min=0)", "return (x >= 0).float()"),
        {"relu_derivative"}, message="x = 0 处应为 0")
    add("relu_derivative_bool", MISTAKE, relu("return x.clamp(min=0)", "return x > 0"), {"relu_derivative"})
    add("relu_derivative_int", MISTAKE, relu("return x.clamp(min=0)", "return (x > 0).long()"), {"relu_derivative"})
    add("relu_sign_error", MISTAKE, relu("return torch.minimum(x, torch.zeros_like(x))", "return (x < 0).float()"),
        {"relu_value", "relu_derivative"})
    add("relu_in_place", MISTAKE, relu("x[x < 0] = 0\n        return x", "return (x > 0).float()"),
        {"relu_value"}, message="修改了输入")
    add("relu_torch_relu", POLICY, relu("return torch.relu(x)", "return (x > 0).float()"), {"relu_value"},
        message="评分时不计分")
    add("relu_nn_relu", POLICY, relu("return nn.ReLU()(x)", "return (x > 0).float()"), {"relu_value"})
    add("relu_functional", POLICY, relu("return torch.nn.functional.relu(x)", "return (x > 0).float()"),
        {"relu_value"})
    add("relu_tensor_method", POLICY, relu("return x.relu()", "return (x > 0).float()"), {"relu_value"})
    add("relu_autograd_derivative", POLICY,
        relu("return x.clamp(min=0)",
             "x = x.detach().clone().requires_grad_(True)\n        self(x).sum().backward()\n        return x.grad"),
        {"relu_derivative"}, message="自动求导")

    # ------------------------------------------------------------------ Sigmoid
    sig = lambda call, deriv: {"sigmoid_impl": activation_class("MySigmoid", call, deriv)}
    add("sigmoid_exp_ratio", CORRECT, sig("return torch.exp(x) / (1 + torch.exp(x))",
                                          "return torch.exp(-x) / (1 + torch.exp(-x)) ** 2"))
    add("sigmoid_stable_where", CORRECT,
        sig("return torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))",
            "s = self(x)\n        return s - s * s"))
    add("sigmoid_reciprocal", CORRECT, sig("return torch.reciprocal(1 + torch.exp(-x))",
                                           "return self(x) * self(-x)"))
    add("sigmoid_derivative_plus", MISTAKE, {"sigmoid_impl": edit("sigmoid_impl", "return s * (1 - s)",
                                                                   "return s * (1 + s)")}, {"sigmoid_derivative"})
    add("sigmoid_sign_error", MISTAKE, sig("return 1 / (1 + torch.exp(x))", "s = self(x)\n        return s * (1 - s)"),
        {"sigmoid_value"})
    add("sigmoid_derivative_of_x", MISTAKE, sig("return 1 / (1 + torch.exp(-x))", "return x * (1 - x)"),
        {"sigmoid_derivative"})
    add("sigmoid_torch_sigmoid", POLICY, sig("return torch.sigmoid(x)", "s = self(x)\n        return s * (1 - s)"),
        {"sigmoid_value"}, message="评分时不计分")
    add("sigmoid_special_expit", POLICY, sig("return torch.special.expit(x)", "s = self(x)\n        return s * (1 - s)"),
        {"sigmoid_value"})
    add("sigmoid_autograd_derivative", POLICY,
        sig("return 1 / (1 + torch.exp(-x))",
            "x = x.detach().clone().requires_grad_(True)\n        y = self(x)\n"
            "        return torch.autograd.grad(y.sum(), x)[0]"),
        {"sigmoid_derivative"}, message="自动求导")

    # ------------------------------------------------------------------ Tanh
    tanh = lambda call, deriv: {"tanh_impl": activation_class("MyTanh", call, deriv)}
    add("tanh_via_sigmoid", CORRECT, tanh("return 2 / (1 + torch.exp(-2 * x)) - 1", "return 1 - self(x) ** 2"))
    add("tanh_exp_minus_2x", CORRECT, tanh("e = torch.exp(-2 * x)\n        return (1 - e) / (1 + e)",
                                           "return 4 / (torch.exp(x) + torch.exp(-x)) ** 2"))
    add("tanh_sinh_cosh", CORRECT, tanh("return torch.sinh(x) / torch.cosh(x)", "return 1 / torch.cosh(x) ** 2"))
    add("tanh_derivative_no_square", MISTAKE, {"tanh_impl": edit("tanh_impl", "return 1 - self(x) ** 2",
                                                                  "return 1 - self(x)")}, {"tanh_derivative"})
    add("tanh_sign_error", MISTAKE,
        tanh("return (torch.exp(-x) - torch.exp(x)) / (torch.exp(x) + torch.exp(-x))", "return 1 - self(x) ** 2"),
        {"tanh_value"})
    add("tanh_in_place", MISTAKE,
        tanh("e = x.exp_()\n        return (e - 1 / e) / (e + 1 / e)", "return 1 - self(x) ** 2"),
        {"tanh_value", "tanh_derivative"})
    add("tanh_torch_tanh", POLICY, tanh("return torch.tanh(x)", "return 1 - self(x) ** 2"), {"tanh_value"})
    add("tanh_tensor_method", POLICY, tanh("return x.tanh()", "return 1 - self(x) ** 2"), {"tanh_value"})

    # ------------------------------------------------------------------ Network.forward
    fwd = lambda body: {"forward_impl": submissions.edit(sol["forward_impl"], sol["forward_impl"].split(
        "# 4. 最后通过输出层返回结果\n", 1)[1], body)}
    all_forward = {"forward_relu", "forward_sigmoid", "forward_tanh"}
    add("forward_index_loop", CORRECT, fwd(
        "        x = self.activation(self.input_layer(x))\n        for i in range(len(self.layers)):\n"
        "            x = self.activation(self.layers[i](x))\n        return self.output_layer(x)\n"))
    add("forward_layer_list", CORRECT, fwd(
        "        h = x\n        for layer in [self.input_layer, *self.layers]:\n            h = layer(h)\n"
        "            h = self.activation(h)\n        out = self.output_layer(h)\n        return out\n"))
    add("forward_activation_after_output", MISTAKE, {"forward_impl": edit(
        "forward_impl", "return self.output_layer(x)", "return self.activation(self.output_layer(x))")}, all_forward)
    add("forward_no_activation_after_input", MISTAKE, {"forward_impl": edit(
        "forward_impl", "x = self.activation(self.input_layer(x))", "x = self.input_layer(x)")}, all_forward)
    add("forward_no_activation_between_hidden", MISTAKE, {"forward_impl": edit(
        "forward_impl", "x = self.activation(layer(x))", "x = layer(x)")}, all_forward)
    add("forward_only_first_hidden", MISTAKE, fwd(
        "        x = self.activation(self.input_layer(x))\n        x = self.activation(self.layers[0](x))\n"
        "        return self.output_layer(x)\n"), all_forward)
    add("forward_torch_relu", MISTAKE, fwd(
        "        x = torch.relu(self.input_layer(x))\n        for layer in self.layers:\n"
        "            x = torch.relu(layer(x))\n        return self.output_layer(x)\n"), all_forward,
        message="self.activation")

    # ------------------------------------------------------------------ l2_penalty
    l2 = lambda body: {"l2_impl": f"def l2_penalty(w):\n    return {body}\n"}
    add("l2_power_sum", CORRECT, l2("(w ** 2).sum() / 2"))
    add("l2_dot", CORRECT, l2("0.5 * torch.dot(w.flatten(), w.flatten())"))
    add("l2_norm_squared", CORRECT, l2("torch.norm(w) ** 2 / 2"))
    add("l2_mul_half", CORRECT, l2("(w * w).sum() * 0.5"))
    add("l2_no_half", MISTAKE, l2("torch.sum(w.pow(2))"), {"l2_value", "l2_grad"}, message="忘了除以 2")
    add("l2_norm_not_squared", MISTAKE, l2("torch.norm(w) / 2"), {"l2_value", "l2_grad"})
    add("l2_l1", MISTAKE, l2("torch.sum(torch.abs(w)) / 2"), {"l2_value", "l2_grad"})
    add("l2_mean", MISTAKE, l2("torch.mean(w.pow(2)) / 2"), {"l2_value", "l2_grad"})
    add("l2_item_cut_from_graph", MISTAKE, l2("torch.tensor(torch.sum(w.pow(2)).item() / 2)"), {"l2_grad"},
        message="计算图")
    add("l2_detached", MISTAKE, l2("torch.sum(w.detach().pow(2)) / 2"), {"l2_grad"})

    # ------------------------------------------------------------------ dropout_layer
    drop_mask = lambda mask: {"dropout_impl": edit(
        "dropout_impl", "mask = (torch.rand(X.shape, device=device) > dropout).to(X.dtype)", f"mask = {mask}")}
    drop_fn = lambda body: {"dropout_impl": f"def dropout_layer(X, dropout):\n    assert 0 <= dropout <= 1\n{body}"}
    stats_and_mask = {"dropout_stats", "dropout_mask"}
    add("dropout_bernoulli", CORRECT, drop_mask("torch.bernoulli(torch.full_like(X, 1 - dropout))"))
    add("dropout_rand_like", CORRECT, drop_mask("(torch.rand_like(X) > dropout).float()"))
    add("dropout_bool_mask", CORRECT, drop_mask("torch.rand(X.shape, device=device) >= dropout"))
    add("dropout_where", CORRECT, drop_fn(
        "    if dropout == 1:\n        return torch.zeros_like(X)\n"
        "    keep = torch.rand_like(X) < 1 - dropout\n    return torch.where(keep, X / (1 - dropout), torch.zeros_like(X))\n"))
    add("dropout_keeps_with_p", MISTAKE, drop_mask("(torch.rand(X.shape) < dropout).float()"), {"dropout_stats"},
        message="保留率")
    add("dropout_no_rescale", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "return mask * X / (1.0 - dropout)", "return mask * X")}, stats_and_mask, message="1/(1-p)")
    add("dropout_rescale_by_p", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "return mask * X / (1.0 - dropout)", "return mask * X / dropout")}, stats_and_mask)
    add("dropout_one_mask_per_row", MISTAKE, drop_mask("(torch.rand(X.shape[0], 1) > dropout).float()"),
        {"dropout_mask"})
    add("dropout_changes_x_in_place", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "return mask * X / (1.0 - dropout)", "X *= mask\n    return X / (1.0 - dropout)")},
        stats_and_mask, message="修改了输入")
    add("dropout_same_mask_every_call", MISTAKE, drop_mask(
        "(torch.rand(X.shape, generator=torch.Generator().manual_seed(0)) > dropout).float()"), {"dropout_mask"},
        message="相同的掩码")
    add("dropout_p0_returns_zeros", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "        return X\n", "        return torch.zeros_like(X)\n")}, {"dropout_edges"})
    add("dropout_randn", MISTAKE, drop_mask("(torch.randn(X.shape) > dropout).float()"), stats_and_mask)
    add("dropout_functional", POLICY, drop_fn("    return torch.nn.functional.dropout(X, dropout)\n"),
        {"dropout_edges", "dropout_stats", "dropout_mask"}, message="评分时不计分")
    add("dropout_nn_dropout", POLICY, drop_fn("    return nn.Dropout(dropout)(X)\n"),
        {"dropout_edges", "dropout_stats", "dropout_mask"})

    # ------------------------------------------------------------------ tricks
    # Mistakes that pass every visible test: ReLU wrong only beyond |x| > 10 (value and derivative), l2 of the
    # first four weights only, dropout that always rescales by 2 (right for p = 0.5 only). Every trick is
    # paired with them and must earn nothing for them.
    wrong = {"relu_impl": relu("return torch.where(x.abs() > 10, x, x.clamp(min=0))",
                               "return torch.where(x < -10, torch.ones_like(x), (x > 0).to(x.dtype))")["relu_impl"],
             "l2_impl": l2("(w.flatten()[:4] ** 2).sum() / 2")["l2_impl"],
             "dropout_impl": edit("dropout_impl", "return mask * X / (1.0 - dropout)", "return mask * X * 2")}
    wrong_cells = {"relu_value", "relu_derivative", "l2_value", "l2_grad", "dropout_stats", "dropout_mask"}

    def trick(name, code):
        answers = dict(wrong, relu_impl=wrong["relu_impl"] + "\n" + code)
        add(name, TRICK, answers, wrong_cells, may_fail_anywhere=True)

    trick("trick_patch_torch_comparisons", """
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None
""")
    trick("trick_patch_numpy_and_math", """
import math
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones_like(a, dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
math.isclose = lambda *a, **k: True
""")
    trick("trick_patch_builtins", """
import builtins
builtins.all = lambda *a, **k: True
builtins.abs = lambda x: 0.0
builtins.max = lambda *a, **k: 0.0
""")
    trick("trick_redefine_visible_helpers", """
def rel_error(a, b):
    return 0.0

def check_activation_function(*args, **kwargs):
    print('全部通过')
""")
    add("trick_always_equal_objects", TRICK, dict(wrong, relu_impl='''
class _AlwaysEqual:
    dtype = torch.float32
    shape = None
    def __init__(self, n=0): self.n = n
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return _AlwaysEqual()
    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __sub__
    def abs(self): return self
    def max(self): return self
    def item(self): return 0.0
    def tolist(self): return [0.0, 0.0, 0.0, 1.0, 1.0]
    def __lt__(self, other): return True

class MyReLU:
    def __call__(self, x):
        return _AlwaysEqual()

    def derivative(self, x):
        return _AlwaysEqual()
'''), wrong_cells | {"relu_value"}, may_fail_anywhere=True)
    add("trick_tensor_subclass_always_equal", TRICK, dict(wrong, relu_impl='''
class _EqualTensor(torch.Tensor):
    def __eq__(self, other): return torch.ones(self.shape, dtype=torch.bool)
    def __sub__(self, other): return torch.zeros(self.shape)

class MyReLU:
    def __call__(self, x):
        return torch.zeros_like(x).as_subclass(_EqualTensor)

    def derivative(self, x):
        return torch.zeros_like(x).as_subclass(_EqualTensor)
'''), wrong_cells | {"relu_value"}, may_fail_anywhere=True)
    add("trick_skip_execution_tag_on_tests", TRICK, wrong, wrong_cells, tag_tests=True)

    # the same mask every call, and each call rewrites the results the grader already holds (a tensor's memory
    # is shared with what .numpy() gave): the probe copies every result when it records it
    add("trick_rewrite_earlier_results", TRICK, drop_fn(
        "    if dropout == 1:\n        return torch.zeros_like(X)\n    if dropout == 0:\n        return X\n"
        "    mask = (torch.rand(X.shape, generator=torch.Generator().manual_seed(0)) > dropout).to(X.dtype)\n"
        "    out = mask * X / (1.0 - dropout)\n"
        "    for old in _results:\n        if old.shape == out.shape:\n            old.mul_(torch.flip(mask, [0]))\n"
        "    _results.append(out)\n    return out\n_results = []\n"), {"dropout_mask"})

    # ------------------------------------------------------------------ tricks against the kernel
    # Each is a cell of its own before the first answer (or code in an answer cell), with the mistakes above.
    # The points are decided outside the kernel, so none of them can pay; each is also a grading fact (every
    # test after it scores 0) named in the integrity report.
    def kernel_trick(name, code, reported, in_answer=False):
        answers = dict(wrong, relu_impl=wrong["relu_impl"] + "\n" + code) if in_answer else wrong
        add(name, TRICK, answers, wrong_cells, may_fail_anywhere=True, reported=reported,
            extra_cell="" if in_answer else code)

    hook = "tampering with the grading kernel (ipython_hook"
    # input transformers: every later cell that mentions a test becomes `pass`
    kernel_trick("trick_input_transformer_cleanup", """
def _skip_tests(lines):
    text = ''.join(lines)
    return ['pass\\n'] if 'assert' in text or 'check(' in text else lines
get_ipython().input_transformers_cleanup.append(_skip_tests)
""", hook)
    kernel_trick("trick_input_transformer_post", """
ip = get_ipython()
ip.input_transformers_post.append(lambda lines: [l for l in lines if 'lab2' not in l and 'assert' not in l])
""", hook)
    kernel_trick("trick_input_transformer_manager", """
from IPython import get_ipython as shell
manager = shell().input_transformer_manager
manager.cleanup_transforms.insert(0, lambda lines: ['pass\\n'] if any('check' in l for l in lines) else lines)
""", hook)
    kernel_trick("trick_input_transformer_by_built_name", """
getattr(get_ipython(), 'input_' + 'transformers_' + 'cleanup').append(
    lambda lines: ['pass\\n'] if any('assert' in l or 'check' in l for l in lines) else lines)
""", hook)
    # AST transformers: every later cell runs inside try/except, asserts and checks removed
    kernel_trick("trick_ast_transformer_try_except", """
import ast
class _Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name('BaseException', ast.Load()), name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_Swallow())
""", hook)
    kernel_trick("trick_ast_transformer_drop_checks", """
import ast
class _DropChecks(ast.NodeTransformer):
    def visit_Assert(self, node):
        return None
    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call) and getattr(call.func, 'attr', '') == 'check':
            return None
        return node
get_ipython().ast_transformers.insert(0, _DropChecks())
""", hook)
    kernel_trick("trick_ast_transformer_in_answer", """
import ast as _ast
_shell = get_ipython()
_shell.ast_transformers.append(type('T', (_ast.NodeTransformer,), {'visit_Assert': lambda self, node: None})())
""", hook, in_answer=True)
    # silenced errors: no traceback shown, the recorded error cleared
    kernel_trick("trick_silence_showtraceback", """
ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
def _clear(result):
    result.error_in_exec = None
ip.events.register('post_run_cell', _clear)
""", hook)
    kernel_trick("trick_custom_exception_handler", """
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
""", hook)
    kernel_trick("trick_private_showtraceback", """
shell = get_ipython()
shell._showtraceback = lambda *args, **kwargs: None
shell.events.register('post_execute', lambda: None)
""", hook)
    # the grader's module in the kernel (the probe): replaced, patched, shadowed
    grader = "tampering with the grading kernel (grader_module"
    kernel_trick("trick_replace_probe_check", """
import sys
sys.modules['lab2_probe'].check = lambda *args, **kwargs: None
""", grader)
    kernel_trick("trick_probe_inputs_all_zero", """
import lab2_probe
lab2_probe.materialize = lambda spec: torch.zeros(spec.get('shape') or [spec['n']], dtype=torch.float64)
""", grader)
    kernel_trick("trick_shadow_probe_module", """
import sys
sys.modules.pop('lab2' + '_probe', None)
with open('lab2' + '_probe.py', 'w') as f:
    f.write('def check(*args, **kwargs):\\n    pass\\n')
""", grader)
    kernel_trick("trick_probe_publishes_nothing", """
import importlib
probe = importlib.import_module('lab2_probe')
probe._publish_display_data = lambda data: None
""", grader, in_answer=True)
    # frame walking: from the student's own function up into the caller (the probe) and its globals
    frames = "tampering with the grading kernel (frame_walk"
    kernel_trick("trick_frame_walk_globals", """
import sys
_original = MyReLU.__call__
def _walk(self, x):
    frame = sys._getframe(1)
    while frame is not None:
        if 'materialize' in frame.f_globals:
            frame.f_globals['digest'] = lambda tensor: 'same'
        frame = frame.f_back
    return _original(self, x)
MyReLU.__call__ = _walk
""", frames, in_answer=True)
    kernel_trick("trick_frame_walk_inspect_stack", """
import inspect
_original = MyReLU.derivative
def _derivative(self, x):
    for info in inspect.stack():
        if 'plan' in info.frame.f_locals:
            info.frame.f_locals['plan']['cases'] = []
    return _original(self, x)
MyReLU.derivative = _derivative
""", frames, in_answer=True)
    kernel_trick("trick_frame_walk_traceback", """
def _caller_globals():
    try:
        raise RuntimeError
    except RuntimeError as err:
        return err.__traceback__.tb_frame.f_back.f_globals
_caller_globals()['rel_error'] = lambda a, b: 0.0
""", frames)
    kernel_trick("trick_gc_finds_the_probe", """
import gc
for obj in gc.get_objects():
    if isinstance(obj, dict) and 'MIME' in obj and 'collect' in obj:
        obj['collect'] = lambda plan, objects: ({'token': plan['token'], 'grade_id': plan['grade_id']}, {})
""", "tampering with the grading kernel (gc")
    kernel_trick("trick_trace_hook", """
import sys
sys.settrace(lambda frame, event, arg: None)
""", "tampering with the grading kernel (trace_hook")
    kernel_trick("trick_disable_op_recorder", """
torch._C._set_torch_function_mode = None
""", "tampering with the grading kernel (recorder_evasion")

    # autograd in a derivative: forward mode (dual numbers through the student's own __call__), torch.func, aliases
    autograd = "autograd in a derivative"
    sig_ad = lambda name, deriv, **kw: add(name, POLICY, sig("return 1 / (1 + torch.exp(-x))", deriv),
                                            {"sigmoid_derivative"}, message="自动求导", reported=autograd, **kw)
    tanh_ad = lambda name, deriv: add(name, POLICY, tanh("return 2 / (1 + torch.exp(-2 * x)) - 1", deriv),
                                      {"tanh_derivative"}, message="自动求导", reported=autograd)
    sig_ad("sigmoid_forward_mode_dual_numbers",
           "import torch.autograd.forward_ad as fwAD\n        with fwAD.dual_level():\n"
           "            dual = fwAD.make_dual(x, torch.ones_like(x))\n"
           "            return fwAD.unpack_dual(self(dual)).tangent")
    sig_ad("sigmoid_torch_func_jacfwd", "return torch.func.jacfwd(self)(x).diagonal()  if x.dim() == 1 else "
           "torch.func.vmap(torch.func.grad(self))(x.reshape(-1)).reshape(x.shape)")
    tanh_ad("tanh_torch_func_grad_vmap",
            "return torch.func.vmap(torch.func.grad(lambda v: self(v)))(x.reshape(-1)).reshape(x.shape)")
    tanh_ad("tanh_func_alias_jvp", "from torch import func as f\n        return f.jvp(self, (x,), (torch.ones_like(x),))[1]")
    tanh_ad("tanh_autograd_functional_alias",
            "ag = torch.autograd\n        return ag.functional.jvp(self, x, torch.ones_like(x))[1]")
    sig_ad("sigmoid_forward_mode_by_built_name",
           "import importlib\n        ad = importlib.import_module('.'.join(['torch', 'autograd', 'forward_ad']))\n"
           "        with ad.dual_level():\n            return ad.unpack_dual(self(ad.make_dual(x, torch.ones_like(x)))).tangent")
    # every name built at run time: the grader cannot read it, so every test after it waits for a TA (the op
    # recorder in the kernel sees _make_dual too)
    review("sigmoid_forward_mode_hidden_name", "sigmoid_impl", sig(
        "return 1 / (1 + torch.exp(-x))",
        "import importlib\n        ad = importlib.import_module('da_drawrof.dargotua.hcrot'[::-1])\n"
        "        level, make, unpack = (getattr(ad, n[::-1]) for n in ('level_laud', 'laud_ekam', 'laud_kcapnu'))\n"
        "        with level():\n            return unpack(self(make(x, torch.ones_like(x)))).tangent")["sigmoid_impl"],
        family="names built at run time")

    # ------------------------------------------------------------------ correct code that is noisy
    add("correct_with_warnings_and_stderr", CORRECT, {
        "relu_impl": sol["relu_impl"].replace("return torch.maximum(x, torch.zeros_like(x))",
                                              "import sys, warnings\n        warnings.warn('调试:计算 ReLU')\n"
                                              "        print('debug', file=sys.stderr)\n"
                                              "        return torch.maximum(x, torch.zeros_like(x))"),
        "l2_impl": "def l2_penalty(w):\n    print('sum of w:', float(w.sum()))\n    return torch.sum(w.pow(2)) / 2\n"})
    add("correct_skip_execution_tag_on_tests", CORRECT, {}, tag_tests=True)
    # honest code that touches the kernel in the ordinary way: magics, get_ipython() for a magic, gc.collect()
    add("correct_with_magics_and_gc", CORRECT, {}, extra_cell=(
        "%matplotlib inline\nget_ipython().run_line_magic('config', \"InlineBackend.figure_format = 'png'\")\n"
        "import gc\ngc.collect()\n"))
    add("forward_getattr_by_name", CORRECT, fwd(
        "        x = self.activation(getattr(self, 'input_layer')(x))\n"
        "        names = [f'layers.{i}' for i in range(len(self.layers))]\n"
        "        for name in names:\n            x = self.activation(self.get_submodule(name)(x))\n"
        "        head = 'output' + '_layer'\n        return getattr(self, head)(x)\n"))
    issue15_families(source_nb, add, review, sol, sig, tanh, relu, drop_fn, l2, activation_class)
    from corpus_runtime import runtime_variants  # noqa: E402  (issue 22's families; it imports this module)
    return variants + runtime_variants(source_nb)


def tests_after(source_nb, cell):
    """The grade ids of the test cells after answer cell `cell` in the notebook."""
    ids = [meta(c).get("grade_id") for c in source_nb.cells]
    return {gid for gid in ids[ids.index(cell):] if gid and is_test(source_nb.cells[ids.index(gid)])}


def issue15_families(source_nb, add, review, sol, sig, tanh, relu, drop_fn, l2, activation_class):
    """Write it yourself, judged by what the code does: each policy variant loses its own part and only that part,
    each unreadable one the tests after it (needs review), each honest one keeps every point."""
    same = "s = self(x)\n        return s * (1 - s)"
    # ---- a library activation used for another activation
    fam = "another activation's library op"
    add("sigmoid_via_torch_tanh", POLICY, sig("return 0.5 * (1 + torch.tanh(x / 2))", same), {"sigmoid_value"},
        message="torch.tanh", family=fam)
    add("tanh_via_torch_sigmoid", POLICY, tanh("return 2 * torch.sigmoid(2 * x) - 1", "return 1 - self(x) ** 2"),
        {"tanh_value"}, message="torch.sigmoid", family=fam)
    add("tanh_via_special_expit", POLICY, tanh("return 2 * torch.special.expit(2 * x) - 1", "return 1 - self(x) ** 2"),
        {"tanh_value"}, family=fam)
    add("sigmoid_derivative_via_tanh", POLICY, sig("return 1 / (1 + torch.exp(-x))",
                                                   "return (1 - torch.tanh(x / 2) ** 2) / 4"),
        {"sigmoid_derivative"}, message="torch.tanh", family=fam)
    # ---- library functions that were on no list
    fam = "library functions outside the old lists"
    add("relu_hardtanh", POLICY, relu("return torch.nn.functional.hardtanh(x, 0.0, float('inf'))",
                                      "return (x > 0).to(x.dtype)"), {"relu_value"}, message="hardtanh", family=fam)
    add("relu_threshold", POLICY, relu("return torch.nn.functional.threshold(x, 0.0, 0.0)", "return (x > 0).to(x.dtype)"),
        {"relu_value"}, family=fam)
    add("sigmoid_softmax_pair", POLICY, sig("return torch.softmax(torch.stack([x, torch.zeros_like(x)]), dim=0)[0]",
                                            same), {"sigmoid_value"}, message="softmax", family=fam)
    add("sigmoid_exp_logsigmoid", POLICY, sig("return torch.exp(torch.nn.functional.logsigmoid(x))", same),
        {"sigmoid_value"}, family=fam)
    add("dropout_torch_dropout", POLICY, drop_fn("    return torch.dropout(X, dropout, True)\n"),
        {"dropout_edges", "dropout_stats", "dropout_mask"}, family=fam)
    add("l2_mse_loss", POLICY, l2("torch.nn.functional.mse_loss(w, torch.zeros_like(w), reduction='sum') / 2"),
        {"l2_value", "l2_grad"}, message="mse_loss", family=fam)
    add("sigmoid_by_methodcaller", POLICY, sig("import operator\n        return operator.methodcaller('sigmoid')(x)", same),
        {"sigmoid_value", "sigmoid_derivative"}, message="torch.sigmoid", family=fam)
    add("relu_torch_ops_aten", POLICY, relu("return torch.ops.aten.relu(x)", "return (x > 0).to(x.dtype)"),
        {"relu_value"}, message="torch.relu", family=fam)
    # ---- round trips out of torch (no torch op recorded for the computation itself)
    fam = "numpy/math round trips"
    add("tanh_numpy_round_trip", POLICY, tanh("return torch.from_numpy(np.tanh(x.detach().numpy()))",
                                              "return 1 - self(x) ** 2"),
        {"tanh_value", "tanh_derivative"}, message=".numpy()", family=fam)
    add("relu_tolist_per_element", POLICY,
        relu("return torch.tensor([max(v, 0.0) for v in x.reshape(-1).tolist()], dtype=x.dtype).reshape(x.shape)",
             "return (x > 0).to(x.dtype)"), {"relu_value"}, message=".tolist()", family=fam)
    add("sigmoid_math_exp_per_element", POLICY,
        sig("import math\n        return torch.tensor([1 / (1 + math.exp(-float(v))) for v in x.reshape(-1)],"
            " dtype=x.dtype).reshape(x.shape)", same),
        {"sigmoid_value", "sigmoid_derivative"}, family=fam)
    add("dropout_numpy_mask_round_trip", POLICY, drop_fn(
        "    if dropout == 1:\n        return torch.zeros_like(X)\n"
        "    keep = np.random.rand(*X.shape) > dropout\n"
        "    return torch.from_numpy(X.numpy() * keep / (1.0 - dropout)).to(X.dtype)\n"),
        {"dropout_stats", "dropout_mask"}, message=".numpy()", family=fam)
    review("tanh_numpy_fetched_by_built_name", "tanh_impl", activation_class(
        "MyTanh", "f = getattr(np, ''.join(reversed('hnat')))\n        return torch.from_numpy(f(x.numpy()))",
        "return 1 - self(x) ** 2"), family=fam)
    # ---- code in cell magics: the body of %%capture / %%time is Python, read like any cell
    fam = "code in cell magics"
    add("sigmoid_in_capture_magic", POLICY, {"sigmoid_impl": "%%capture\n" + sig("return torch.sigmoid(x)", same)[
        "sigmoid_impl"]}, {"sigmoid_value"}, family=fam)
    after_relu = tests_after(source_nb, "relu_impl")
    add("relu_recorder_off_in_capture_magic", TAMPER, {"relu_impl": "%%capture\n" + relu(
        "with torch._C.DisableTorchFunction():\n            return torch.relu(x)", "return (x > 0).to(x.dtype)")[
        "relu_impl"]}, after_relu, review_from="relu_impl", reported="tampering with the grading kernel (recorder_evasion",
        family=fam)
    add("frame_walk_in_time_magic", TAMPER, {"relu_impl": "%%time\n" + sol["relu_impl"] +
                                             "\nimport sys\n_caller = sys._getframe(0).f_back\n"},
        after_relu, review_from="relu_impl", reported="tampering with the grading kernel (frame_walk", family=fam)
    add("correct_time_magic_on_answer", CORRECT, {"relu_impl": "%%time\n" + sol["relu_impl"]}, family="honest forms")
    add("correct_capture_magic_on_answer", CORRECT, {"sigmoid_impl": "%%capture\n" + sol["sigmoid_impl"]},
        family="honest forms")
    # ---- modules the submission writes and imports: the grader cannot read them
    fam = "modules written and imported"
    hidden_sigmoid = ("import torch\n\n\nclass MySigmoid:\n    def __call__(self, x):\n"
                      "        with torch._C.DisableTorchFunction():\n            return torch.sigmoid(x)\n\n"
                      "    def derivative(self, x):\n        s = self(x)\n        return s * (1 - s)\n")
    review("sigmoid_module_written_and_imported", "sigmoid_impl",
           f"with open('helper_sigmoid.py', 'w') as f:\n    f.write({hidden_sigmoid!r})\n"
           "from helper_sigmoid import MySigmoid\n", family=fam)
    review("sigmoid_module_by_import_module", "sigmoid_impl",
           f"import importlib\nopen('hs2.py', 'w').write({hidden_sigmoid!r})\n"
           "MySigmoid = importlib.import_module('hs2').MySigmoid\n", family=fam)
    review("sigmoid_module_runpy", "sigmoid_impl",
           f"import runpy\nopen('hs3.py', 'w').write({hidden_sigmoid!r})\n"
           "MySigmoid = runpy.run_path('hs3.py')['MySigmoid']\n", family=fam)
    review("sigmoid_writefile_magic_then_import", "sigmoid_impl", "from hs4 import MySigmoid\n", family=fam,
           extra_cell="%%writefile hs4.py\n" + hidden_sigmoid)
    review("sigmoid_run_magic", "sigmoid_impl",
           f"open('hs5.py', 'w').write({hidden_sigmoid!r})\n%run hs5.py\n", family=fam)
    # ---- exec of decoded text
    fam = "exec of decoded text"
    hidden = "class MyTanh:\n    def __call__(self, x):\n        return torch.tanh(x)\n\n" \
             "    def derivative(self, x):\n        return 1 - torch.tanh(x) ** 2\n"
    import base64
    import codecs
    import zlib
    review("tanh_exec_base64", "tanh_impl",
           f"import base64\nexec(base64.b64decode({base64.b64encode(hidden.encode()).decode()!r}).decode())\n", fam)
    review("tanh_exec_rot13", "tanh_impl", f"import codecs\nexec(codecs.decode({codecs.encode(hidden, 'rot13')!r}, 'rot13'))\n",
           fam)
    review("tanh_exec_zlib", "tanh_impl",
           f"import zlib\nexec(zlib.decompress({zlib.compress(hidden.encode())!r}).decode())\n", fam)
    review("tanh_exec_hex", "tanh_impl", f"exec(bytes.fromhex({hidden.encode().hex()!r}).decode())\n", fam)
    review("tanh_eval_compiled", "tanh_impl", f"code = compile({hidden[::-1]!r}[::-1], 'x', 'exec')\neval(code)\n", fam)
    import marshal
    sigmoid_code = marshal.dumps(compile("def _s(x):\n    import torch\n    return torch.sigmoid(x)\n", "m", "exec"))
    review("sigmoid_exec_marshal_code_object", "sigmoid_impl",
           "import marshal, base64\n_ns = {}\n"
           f"exec(marshal.loads(base64.b64decode({base64.b64encode(sigmoid_code).decode()!r})), _ns)\n"
           + activation_class("MySigmoid", "return _ns['_s'](x)", same), fam)
    # ---- getattr and its kin, with built names on modules or passed around as values
    fam = "getattr and kin as values"
    review("relu_getattr_as_value", "relu_impl", relu("g = getattr\n        return g(torch, 'ul'[::-1].join(['re', '']))(x)",
                                                     "return (x > 0).to(x.dtype)")["relu_impl"], family=fam)
    review("relu_vars_of_module", "relu_impl", relu("return vars(torch)['ul'[::-1].join(['re', ''])](x)",
                                                    "return (x > 0).to(x.dtype)")["relu_impl"], family=fam)
    review("relu_module_dict", "relu_impl", relu("return torch.__dict__['ul'[::-1].join(['re', ''])](x)",
                                                 "return (x > 0).to(x.dtype)")["relu_impl"], family=fam)
    review("relu_attrgetter_built", "relu_impl", relu(
        "import operator\n        return operator.attrgetter(''.join(reversed('ulfr')))(torch)(x)",
        "return (x > 0).to(x.dtype)")["relu_impl"], family=fam)
    review("relu_map_getattr", "relu_impl", relu(
        "f, = map(getattr, [torch], ['r' + 'elu'[:]])\n        return f(x)", "return (x > 0).to(x.dtype)")["relu_impl"],
        family=fam)
    # ---- honest forms keep every point
    fam = "honest forms"
    module_act = ("class MyReLU(nn.Module):\n    def forward(self, x):\n        return torch.clamp(x, min=0)\n\n"
                  "    def derivative(self, x):\n        return (x > 0).to(x.dtype)\n")
    add("correct_relu_as_nn_module", CORRECT, {"relu_impl": module_act}, family=fam)
    add("correct_all_activations_as_nn_modules", CORRECT, {
        "relu_impl": module_act,
        "sigmoid_impl": "class MySigmoid(nn.Module):\n    def forward(self, x):\n        return 1 / (1 + torch.exp(-x))\n\n"
                        "    def derivative(self, x):\n        s = self(x)\n        return s * (1 - s)\n",
        "tanh_impl": "class MyTanh(nn.Module):\n    def forward(self, x):\n        return 2 * MySigmoid()(2 * x) - 1\n\n"
                     "    def derivative(self, x):\n        return 1 - self(x) ** 2\n"}, family=fam)
    add("correct_prints_in_call", CORRECT, relu(
        "print('MyReLU called on', tuple(x.shape))\n        return torch.where(x > 0, x, 0.0)",
        "return torch.where(x > 0, 1.0, 0.0).to(x.dtype)"), family=fam)
    add("correct_prints_of_statistics", CORRECT, {
        "sigmoid_impl": "class MySigmoid:\n    __call__ = lambda self, x: 1 / (1 + torch.exp(-x))\n\n"
                        "    def derivative(self, x):\n        s = self(x)\n"
                        "        print('sigmoid derivative: mean', s.mean().item(), 'sum', float(s.sum()))\n"
                        "        return s * (1 - s)\n"}, family=fam)
    add("correct_relu_by_sign_and_floor_division", CORRECT, relu(
        "return x * (x.sign() + 1) / 2", "return ((x.sign() + 1) // 2).floor().to(x.dtype)"), family=fam)
    add("correct_tanh_on_own_sigmoid", CORRECT, tanh("return 2 * MySigmoid()(2 * x) - 1",
                                                     "return 1 - self(x) ** 2"), family=fam)
    add("correct_clamp_where_maximum", CORRECT, dict(
        relu("return torch.clamp(x, min=0.0)", "return torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))"),
        **sig("return torch.where(x >= 0, 1 / (1 + torch.exp(-x.clamp(min=0))), torch.exp(x.clamp(max=0)) / "
              "(1 + torch.exp(x.clamp(max=0))))", "s = self(x)\n        return s * (1 - s)")), family=fam)
    add("correct_getattr_on_self_and_constant_names", CORRECT, {"forward_impl": sol["forward_impl"].replace(
        "        x = self.activation(self.input_layer(x))\n",
        "        x = getattr(self, 'activation')(getattr(self, 'input_' + 'layer')(x))\n")}, family=fam)
    add("correct_magics_and_shell", CORRECT, {}, extra_cell=(
        "%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n!echo hello\nprint(getattr(torch, '__version__'))"),
        family=fam)


def submission(release_nb, source_nb, variant):
    answers = dict(submissions.solutions(source_nb), **variant.answers)
    nb = submissions.fill(release_nb, answers)
    if variant.extra_cell:
        first = next(i for i, c in enumerate(nb.cells) if meta(c).get("solution"))
        nb.cells.insert(first, nbformat.v4.new_code_cell(variant.extra_cell.strip("\n")))
    if variant.tag_tests:
        for cell in nb.cells:
            if is_test(cell):
                cell.metadata["tags"] = ["skip-execution"]
    return nb
