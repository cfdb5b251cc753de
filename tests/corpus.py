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

CORRECT, MISTAKE, POLICY, TRICK = "correct", "mistake", "policy", "trick"


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
        message="不能使用")
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
        {"sigmoid_value"}, message="不能使用")
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
        {"dropout_edges", "dropout_stats", "dropout_mask"}, message="不能使用")
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
    # every name built at run time: the source cannot tell, the op recorder in the kernel sees _make_dual
    add("sigmoid_forward_mode_hidden_name", POLICY,
        sig("return 1 / (1 + torch.exp(-x))",
            "import importlib\n        ad = importlib.import_module('da_drawrof.dargotua.hcrot'[::-1])\n"
            "        level, make, unpack = (getattr(ad, n[::-1]) for n in ('level_laud', 'laud_ekam', 'laud_kcapnu'))\n"
            "        with level():\n            return unpack(self(make(x, torch.ones_like(x)))).tangent"),
        {"sigmoid_derivative"}, message="自动求导", reported="hides what it calls")

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
    return variants


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
