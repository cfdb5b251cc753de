"""评分规则:每一部分的代码可以用哪些运算,什么样的代码评分程序读不懂、要交给助教复核。

规则写的是「允许什么」:
- 每一部分只能用它的允许列表里的运算(由评分时记录下来的 aten 运算判定;另一个激活函数的库函数也是库函数);
- 激活函数和 dropout 不能把数据移出 torch(.numpy()、.tolist()、逐元素的 Python 浮点数):那样在 GPU 上会出错,
  也切断了计算图;
- 导数里不能用自动求导;
- 评分程序读不懂的代码(运行时拼出来的代码或名字、提交里自己写出再导入的模块、%run 等)之后的测试先记 0 分,
  等助教读过代码后决定(needs review);改动评分内核的代码(钩子、栈帧、评分模块……)之后的测试得 0 分。

这一个文件用在两个地方,两边的说法因此一致:
- 评分进程(内核之外)用它判定:grading/lab2_grader.py、grading/source_rules.py;探针在内核里用它的记录器;
- 学生笔记本里的「评分规则检查」单元是它的原样副本(tools/release.py 生成),可见测试用 advise() 在学生自己的
  内核里给出同样的提示。那里的结果只是提示,评分时的判定在内核之外。
只依赖标准库和 torch;这个文件里不要出现三个连续的单引号(生成单元时要用到)。
"""
import ast
import re
import warnings
from typing import NamedTuple

import torch
from torch.autograd import profiler as _profiler
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

# ---------------------------------------------------------------- what a part's code may use (aten op names)
ARITHMETIC = {"add", "sub", "rsub", "mul", "div", "true_divide", "neg", "negative", "positive", "square",
              "addcmul", "addcdiv", "floor_divide", "remainder", "fmod", "floor", "ceil", "round", "trunc", "frac"}
EXP_LOG = {"exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "pow", "float_power", "sqrt", "rsqrt",
           "reciprocal", "sinh", "cosh"}  # sinh, cosh: (e^x ∓ e^-x) / 2, tanh's own definition
COMPARISON = {"gt", "ge", "lt", "le", "eq", "ne", "greater", "greater_equal", "less", "less_equal", "equal",
              "not_equal", "logical_and", "logical_or", "logical_not", "logical_xor", "bitwise_and", "bitwise_or",
              "bitwise_not", "bitwise_xor", "heaviside", "isnan", "isinf", "isfinite", "is_nonzero", "signbit"}
SELECTION = {"where", "maximum", "minimum", "max", "min", "fmax", "fmin", "clamp", "clamp_min", "clamp_max", "clip",
             "masked_fill", "index_put", "_index_put_impl", "index", "masked_select", "abs", "absolute", "sign", "sgn"}
CONSTRUCTORS = {"zeros_like", "ones_like", "full_like", "empty_like", "zeros", "ones", "full", "empty", "empty_strided",
                "scalar_tensor", "lift_fresh", "lift_fresh_copy", "new_zeros", "new_ones", "new_full", "new_empty",
                "new_empty_strided", "fill", "zero"}
CONVERSIONS = {"to", "_to_copy", "copy", "clone", "contiguous", "view", "reshape", "_reshape_alias", "_unsafe_view",
               "expand", "expand_as", "as_strided", "flatten", "unflatten", "unsqueeze", "squeeze", "permute",
               "transpose", "t", "detach", "alias", "resolve_conj", "resolve_neg", "type_as", "view_as", "reshape_as",
               "select", "slice", "cat", "stack", "broadcast_to", "result_type", "_local_scalar_dense", "item",
               "lift", "_has_compatible_shallow_copy_type", "set_", "_to_dim_order_copy", "unbind", "split", "chunk",
               "flip", "roll"}
RANDOM = {"rand", "rand_like", "randn", "randn_like", "bernoulli", "uniform", "normal", "randint", "randint_like",
          "random", "randperm", "multinomial"}
# statistics of a tensor: what a print or a check inside honest code computes (`print(s.mean().item())`); sums
# and means of elements are arithmetic, and no library activation or dropout is built from them
STATISTICS = {"sum", "mean", "nansum", "nanmean", "std", "var", "std_mean", "var_mean", "amax", "amin", "aminmax",
              "argmax", "argmin", "prod", "any", "all", "count_nonzero", "median", "nanmedian"}
REDUCTIONS = {"norm", "linalg_vector_norm", "frobenius_norm", "dot", "vdot", "inner", "matmul", "mm", "mv", "bmm",
              "einsum", "tensordot"}

BASIC = ARITHMETIC | EXP_LOG | COMPARISON | SELECTION | CONSTRUCTORS | CONVERSIONS | STATISTICS
BASIC_TEXT = ("四则运算(含取整、取余)、exp/log/pow/sqrt/reciprocal、比较、where/maximum/minimum/clamp、abs/sign、"
              "sum/mean/max 这类统计量、*_like 与 full/ones/zeros 构造,以及类型、设备、形状的转换")
# the allowlists a part can name (its declaration's `ops`): the ops, and the same in words for the messages
ALLOWLISTS = {
    "basic": (BASIC, BASIC_TEXT),                                                   # the activations
    "basic+random": (BASIC | RANDOM, BASIC_TEXT + ",再加上随机数(rand、bernoulli 等)"),  # dropout
    "basic+sums": (BASIC | REDUCTIONS, BASIC_TEXT + ",再加上 norm/dot/matmul 这类范数与乘积"),  # the L2 penalty
}
MISTAKES = {"op": "op_not_allowed", "leaves_torch": "leaves_torch", "autograd": "autograd"}  # <part>_<this>

# leaving torch (function-level names): any of these, or a Python number per element
LEAVES_TORCH = {"numpy", "tolist", "__array__", "__array_wrap__"}
PER_ELEMENT = {"item", "__float__", "__int__", "__index__", "__complex__"}
PER_ELEMENT_LIMIT = 16  # a few scalars (a hyperparameter) are fine; one per element is a round trip
AUTOGRAD_CALLS = {"backward", "grad", "vjp", "jvp", "jacobian", "hessian", "vmap", "jacrev", "jacfwd", "requires_grad_",
                  "_set_grad_enabled", "make_dual", "unpack_dual", "_make_dual", "_unpack_dual"}
ENGINE, RECORDER_STOPPED = "autograd::engine", "recorder_stopped"  # pseudo-ops: autograd's engine ran; the recording was cut
LIBRARY_ACTIVATIONS = {"relu", "relu6", "leaky_relu", "prelu", "_prelu_kernel", "rrelu", "rrelu_with_noise", "elu",
                       "selu", "celu", "gelu", "silu", "mish", "hardtanh", "hardsigmoid", "hardswish", "sigmoid",
                       "log_sigmoid_forward", "tanh", "softplus", "softshrink", "hardshrink", "_softmax", "softmax",
                       "_log_softmax", "log_softmax", "threshold", "logit", "glu"}  # named in the messages


def without_inplace(op):
    """An op's name without its in-place underscore: add_ -> add."""
    return op[:-1] if op.endswith("_") and not op.endswith("__") else op


def known_as(op):
    """How a student knows an op: torch.tanh, torch.softmax, else aten::hardtanh."""
    name = without_inplace(op)
    for candidate in (name, name.lstrip("_")):
        if candidate and hasattr(torch, candidate):
            return f"torch.{candidate}"
    return f"aten::{op}"


def violation(allowed, ops, funcs, *, derivative=False, in_torch=False):
    """The first rule a call broke, as (kind, names), or None. ops: the aten ops it ran (and the pseudo-ops ENGINE,
    RECORDER_STOPPED); funcs: torch functions it called, with counts. kind: autograd | leaves_torch | op."""
    ops, funcs = set(ops), dict(funcs)
    if derivative:
        used = sorted(n for n in set(funcs) | ops if n in AUTOGRAD_CALLS or n == ENGINE or n.endswith("_backward"))
        if used:
            return "autograd", used
    if in_torch:
        used = sorted(n for n in funcs if n in LEAVES_TORCH)
        used += sorted(n for n in funcs if n in PER_ELEMENT and funcs[n] > PER_ELEMENT_LIMIT)
        if used:
            return "leaves_torch", used
    used = sorted(op for op in ops if without_inplace(op) not in allowed)
    return ("op", used) if used else None


def message(kind, what, names, allowed_text):
    """The Chinese message of a broken rule (the grader's verdict, and the visible tests' advice)."""
    if kind == "autograd":
        return (f"{what} 用自动求导求出了导数({', '.join(names)})。请按公式手写导数,不要调用 backward / autograd。"
                "这一部分评分时不计分。")
    if kind == "leaves_torch":
        shown = ", ".join(f".{n}()" if n in ("numpy", "tolist", "item") else n for n in names)
        return (f"{what} 把数据移出了 torch({shown}):这样的实现在 GPU 上会出错,也切断了计算图,训练时梯度传不回来。"
                "请只用 torch 的张量运算。这一部分评分时不计分。")
    if RECORDER_STOPPED in names:
        return f"{what} 运行时,评分用来记录运算的工具被关掉了。这一部分评分时不计分。"
    shown = ", ".join(known_as(n) if n != ENGINE else "自动求导" for n in names)
    note = "(别的激活函数的库函数也算库函数)" if any(without_inplace(n) in LIBRARY_ACTIVATIONS for n in names) else ""
    return f"这一部分用了 {shown}:{what} 只能用{allowed_text}{note},评分时不计分。"


def graph_mistake(x, out_requires_grad, grad, reference):
    """Whether the activation's value carries the gradient to x (training needs it): None, or why not. `reference` is
    torch's own function of this activation; points where x is nearly 0 (ReLU's kink) are left out."""
    if not out_requires_grad or grad is None:
        return "结果脱离了计算图(requires_grad=False)"
    x = x.detach().double().requires_grad_(True)
    want, = torch.autograd.grad(reference(x).sum(), x)
    keep = x.detach().abs() > 1e-3
    diff = (grad.double() - want)[keep].abs()
    bad = diff > 1e-4 * want[keep].abs() + 1e-5
    if bool(bad.any()) or bool(grad.double().isnan().any()):
        return f"对 x 求导得到的梯度与导数不一致(最大差 {diff.max().item():.2e})"
    return None


def graph_message(what, why):
    return (f"{what} 的结果不能把梯度正确地传回输入 x:{why}。训练时网络要靠它求梯度;不要在激活函数里用 numpy、.tolist()、"
            "逐元素的 Python 数、.detach() 或 torch.no_grad()。这一部分评分时不计分。")


# ---------------------------------------------------------------- recording what student code runs
class _TorchFunctionCounts(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.counts = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


class _AtenOps(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls):  # nothing is compiled here; wrapping for dynamo would import it (1.6 s)
        return False

    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(func._schema.name.split("::")[-1])
        return func(*args, **(kwargs or {}))


class Recorder:
    """Records the student's calls of one test: per call, the torch functions it called (with counts), the aten ops
    it ran and whether autograd's engine ran. Two recorders: torch's Python modes, and torch's own profiler, which
    records every aten op below the Python modes (the student's Python cannot switch those off unseen: a profiler
    stopped in the middle marks every call RECORDER_STOPPED).

        with Recorder(token) as rec:
            result = rec.call(fn, args)     # {"out" | "error", "funcs", "warnings"}
        rec.ops(0)                          # the aten ops of the first call, after the block
    """

    def __init__(self, token="lab2"):
        self.marker, self.calls, self.stopped, self._events = f"lab2-call-{token}-", [], False, []

    def __enter__(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._prof = _profiler_class()(use_cuda=False)
            self._prof.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._prof.__exit__(None, None, None)
                self._events = list(self._prof.function_events)
        except (RuntimeError, AssertionError, AttributeError):  # the profiler was stopped by the code under test
            self.stopped = True
        return False

    def call(self, fn, args):
        funcs, aten = _TorchFunctionCounts(), _AtenOps()
        result = {"error": None, "out": None}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with _record_function(self.marker + str(len(self.calls))), funcs, aten:
                    result["value"] = fn(*args)
            except (Exception, SystemExit) as err:  # KeyboardInterrupt (a timeout) goes on up
                result["error"] = {"type": type(err).__name__, "message": str(err)[:300]}
        self.calls.append(aten.names)
        result["funcs"] = funcs.counts
        result["warnings"] = [f"{w.category.__name__}: {w.message}"[:300] for w in caught]
        return result

    def ops(self, index):
        """The aten ops call `index` ran (both recorders), with ENGINE when autograd's engine ran in it."""
        names = set(self.calls[index])
        if self.stopped:
            return sorted(names | {RECORDER_STOPPED})
        marker = self.marker + str(index)
        for event in self._events:
            if event.name != marker:
                continue
            stack = list(event.cpu_children)
            while stack:
                child = stack.pop()
                stack.extend(child.cpu_children)
                if child.name.startswith("aten::"):
                    names.add(child.name[len("aten::"):])
                elif child.name.startswith("autograd::engine"):
                    names.add(ENGINE)
        return sorted(names)


_legacy = getattr(torch.autograd, "profiler_legacy", None)  # quiet and cheaper than Kineto on a CPU
_PROFILE = _legacy.profile if _legacy is not None else _profiler.profile  # taken when this file loads, as are
_record_function = _profiler.record_function                               # the functions below
_linspace, _randn, _rand, _cat, _clamp, _tensor, _Generator = (torch.linspace, torch.randn, torch.rand, torch.cat,
                                                               torch.clamp, torch.tensor, torch.Generator)
_allclose = torch.allclose


def _profiler_class():
    return _PROFILE


# ---------------------------------------------------------------- inputs (the probe and the advice build them alike)
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def materialize(spec):
    """The tensor an input spec describes; the grading process builds the same tensor from the same spec."""
    kind, dtype = spec["kind"], DTYPES[spec.get("dtype", "float32")]
    gen = _Generator().manual_seed(int(spec.get("seed", 0)))
    if kind == "activation":  # a grid over [lo, hi], small values around 0, exact zeros, random points
        lo, hi, n = float(spec["lo"]), float(spec["hi"]), int(spec["n"])
        edges = _tensor([0.0, -0.0, 1.0, -1.0, lo, hi], dtype=dtype)
        grid = _linspace(lo, hi, 2001, dtype=dtype)
        small = _linspace(-1e-3, 1e-3, 201, dtype=dtype)
        rnd = _clamp(_randn((n,), generator=gen, dtype=dtype) * 4.0, lo, hi)
        return _cat([edges, grid, small, rnd])[:n]
    shape = tuple(int(s) for s in spec["shape"])
    if kind == "randn":
        return _randn(shape, generator=gen, dtype=dtype)
    if kind == "rand_plus_one":  # every element in [1, 2): none is 0, so a 0 in the output was dropped
        return _rand(shape, generator=gen, dtype=dtype) + 1.0
    if kind == "values":
        return _tensor(spec["values"], dtype=dtype).reshape(shape)
    raise ValueError(f"unknown input kind {kind!r}")


# ---------------------------------------------------------------- reading the submitted code
GRADER_MODULES = ("lab2_probe", "lab2_grader")  # the grader's modules by name: the rules, the feedback's redaction
# tampering: code that changes the grading kernel itself; every test after it scores 0.
# rule -> (attribute or imported names, dotted prefixes, what it does)
TAMPERING = {
    "ipython_hook": (
        {"ast_transformers", "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
         "input_splitter", "showtraceback", "_showtraceback", "showsyntaxerror", "showindentationerror",
         "set_custom_exc", "custom_exceptions", "CustomTB", "InteractiveTB", "SyntaxTB", "set_hook", "run_cell",
         "run_cell_async", "run_ast_nodes", "transform_cell", "transform_ast", "should_run_async",
         "shell_handlers", "user_ns_hidden", "prefilter_manager", "InteractiveShell", "ZMQInteractiveShell"},
        ("ipykernel", "zmq", "jupyter_client", "IPython.core"),
        "改动了 IPython 内核执行单元的流程(钩子、输入/语法树转换器、异常显示或内核本身)"),
    "grader_module": (
        set(GRADER_MODULES), ("sys.modules", "importlib.reload"),
        "读取或改动了评分模块(lab2_probe / lab2_grader / sys.modules)"),
    "frame_walk": (
        {"_getframe", "_current_frames", "currentframe", "getouterframes", "getinnerframes", "f_back", "f_globals",
         "f_locals", "f_builtins", "tb_frame", "tb_next", "gi_frame", "cr_frame", "ag_frame", "walk_stack",
         "walk_tb"},
        ("inspect.stack", "inspect.trace", "inspect.getframeinfo"),
        "沿调用栈访问了其他函数的帧(例如评分程序的变量)"),
    "gc": ({"get_objects", "get_referrers", "get_referents"}, ("gc.callbacks",),
           "通过垃圾回收器查找内核里的其他对象(例如评分程序的对象)"),
    "ctypes": ({"ctypes", "_ctypes", "cffi", "pythonapi"}, ("ctypes", "_ctypes", "cffi"),
               "用 ctypes/cffi 直接读写进程内存"),
    "trace_hook": ({"settrace", "setprofile", "addaudithook"}, ("sys.monitoring",),
                   "设置了跟踪、性能分析或审计钩子,能截获评分时的每一步"),
    "recorder_evasion": (
        {"DisableTorchFunction", "DisableTorchFunctionSubclass", "_DisableTorchDispatch",
         "_disabled_torch_function_impl", "__torch_function__", "__torch_dispatch__", "TorchFunctionMode",
         "TorchDispatchMode", "_pop_mode", "_pop_torch_function_stack", "_push_on_torch_function_stack",
         "_set_torch_function_mode", "_disable_current_modes", "_disable_profiler", "_disable_profiler_legacy",
         "_enable_profiler", "_enable_profiler_legacy", "_prepare_profiler", "record_function", "profiler_legacy"},
        ("torch._C", "torch.overrides", "torch.utils._python_dispatch", "torch.library", "torch.profiler",
         "torch.autograd.profiler", "torch._dispatch"),
        "绕过或改动了评分时记录运算的机制"),
}
# generic attribute names that are tampering only on the shell itself (get_ipython().events, sys.excepthook)
SHELL_ONLY = {"events", "kernel", "run_code", "displayhook", "excepthook", "display_pub", "magic", "ex", "ev"}
SHELL_ROOTS = ("get_ipython()", "IPython", "ipykernel", "sys")
GRADER_TEXT = re.compile("|".join(GRADER_MODULES))
AUTOGRAD_NAMES = {"backward", "autograd", "forward_ad", "make_dual", "unpack_dual", "dual_level", "jvp", "vjp",
                  "jacrev", "jacfwd", "jacobian", "hessian", "hvp", "vhp", "enable_grad", "set_grad_enabled",
                  "requires_grad_", "functorch"}
AUTOGRAD_MODULES = ("torch.func", "torch.autograd", "functorch", "torch._functorch")
PATCHED_MODULES = ("torch", "numpy", "math", "builtins", "sys", "warnings", "IPython", "nbgrader")
VISIBLE_HELPERS = {"rel_error", "check_activation_function"}

# unreadable code: what the grader cannot read goes to a person (every test after it waits for a TA's review)
NAME_BUILTINS = {"getattr", "setattr", "delattr", "hasattr"}      # take an attribute's name as a string (hasattr
# only tests that a name exists: with a name built at run time it fetches nothing)
CODE_BUILTINS = {"exec", "eval", "compile"}                        # take code as a string
AS_VALUE = NAME_BUILTINS | CODE_BUILTINS | {"__import__", "vars", "globals", "locals", "import_module", "attrgetter",
                                           "methodcaller", "getattr_static"}
DYNAMIC_CODE = ("runpy", "marshal.load", "marshal.loads", "pickle.load", "pickle.loads", "dill", "cloudpickle",
                "types.FunctionType", "types.CodeType", "types.LambdaType", "importlib.util", "importlib.machinery",
                "code.InteractiveInterpreter", "code.InteractiveConsole", "code.interact", "imp.load_source")
MODULES = {"torch", "np", "numpy", "nn", "F", "optim", "math", "sys", "os", "builtins", "__builtins__", "importlib",
           "IPython", "operator", "types", "inspect", "gc", "ctypes", "functools", "itertools", "random", "re", "io",
           "pickle", "marshal", "runpy", "codecs", "base64", "zlib", "binascii", "torchvision", "plt", "matplotlib"}
# magics: which ones hold Python (read like any code), which cannot change the kernel's state; any other is unreadable
PY_LINE_MAGICS, PY_CELL_MAGICS = {"time", "timeit", "prun"}, {"time", "timeit", "capture", "prun"}
SAFE_LINE_MAGICS = {"matplotlib", "config", "pwd", "ls", "who", "whos", "who_ls", "env", "precision", "pinfo", "pinfo2",
                    "psearch", "xmode", "pip", "conda", "cd", "pprint", "lsmagic", "magic", "quickref", "alias",
                    "unalias", "history", "hist", "colors", "automagic", "doctest_mode", "page", "pdef", "pdoc",
                    "psource", "pfile", "dhist", "dirs", "reset", "xdel", "autoreload", "aimport", "system", "sx",
                    "sc", "bookmark", "tb", "env", "set_env", "clear", "killbgscripts", "mkdir", "rmdir", "cat"}
SAFE_CELL_MAGICS = {"writefile", "bash", "sh", "script", "html", "HTML", "javascript", "js", "latex", "markdown", "svg",
                    "perl", "ruby", "file"}
SAFE_EXTENSIONS = {"autoreload", "storemagic"}



class FindingKind(NamedTuple):
    """One kind of finding in the submitted code, declared once for the grader (lab2_grader.overrule), the advice
    (_history_notes), the source reading (source_rules) and the integrity report (tools/integrity_report.py)."""
    text: str          # what it is, in the student's words
    report: str        # how the integrity report names it, for the TA ({rule}: the rule, {what}: what it does)
    cost: str          # AFTER: every test after its cell scores 0; REVIEW: every test after it waits for a TA at 0;
    #                    DERIVATIVE: its part's derivative test scores 0; "": nothing (a reason to look)
    mistake: str = ""  # the mistake id of a test it decides ({part}: the part's name)
    advice: str = ""   # what the visible tests' advice says ({number}: In[number], {line}, {what})


AFTER, REVIEW, DERIVATIVE = "every test after it", "held for review", "the derivative"
FINDING_KINDS = {
    "tampering": FindingKind("改动了评分内核", "tampering with the grading kernel ({rule}; every test after it scored 0)",
                             AFTER, "kernel_tampering", "In[{number}] 第 {line} 行{what}:之后的测试评分时都得 0 分。"),
    "unreadable_code": FindingKind(
        "评分程序读不懂的代码", "unreadable code: needs review ({rule}; every test after it is held at 0 until a TA reads "
                        "the code and gives the points back in the Formgrader)", REVIEW, "needs_review",
        "In[{number}] 第 {line} 行{what}:评分程序读不懂,之后的测试评分时先记 0 分,等助教读过代码后再给分。"),
    "autograd": FindingKind("在导数里用了自动求导", "autograd in a derivative ({rule}; the derivative scored 0)", DERIVATIVE,
                            "{part}_autograd"),
    "risky": FindingKind("伸向内核之外的代码(进程、网络、文件、成绩库)", "risky: {what}", ""),
    "monkeypatch": FindingKind("改动了库或内置函数", "monkeypatch ({rule})", ""),
    "helper_redefined": FindingKind("重新定义了测试用的辅助函数", "redefines a check helper ({rule})", ""),
    "syntax": FindingKind("语法错误", "does not parse", ""),
}
UNREADABLE = {
    "exec": "执行了运行时才拼出来的代码(exec/eval/compile 的参数不是写死的字符串)",
    "name": "用运行时拼出来的名字从模块里取东西(getattr、vars、__dict__ 等)",
    "import": "导入了运行时才决定的模块,或提交里自己写出来的模块",
    "value": "把 getattr/exec/import_module 这类函数当作值传来传去",
    "dynamic": "用 runpy/marshal/pickle/types.FunctionType/importlib.util 等方式运行看不见的代码",
    "magic": "用了评分程序读不懂的魔法命令(%run、%load 或自定义的魔法命令等)",
    "too_deep": "代码嵌套太深,评分程序读不了",
}


def python_source(source):
    """The cell as IPython runs it: %magics and !commands become get_ipython() calls, line for line."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except (SyntaxError, ValueError, IndexError, TypeError, AttributeError):
        return source


def constant_string(node):
    """The string a constant expression builds ('re' + 'lu', ''.join(['re', 'lu']), f'relu'), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = constant_string(node.left), constant_string(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = [constant_string(v) for v in node.values]
        return None if None in parts else "".join(parts)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple))):
        sep, parts = constant_string(node.func.value), [constant_string(e) for e in node.args[0].elts]
        return None if sep is None or None in parts else sep.join(parts)
    return None


def _installed(module):
    """Whether a top-level module comes with the environment (the standard library or an installed package),
    rather than from a file the submission wrote."""
    import importlib.util
    import sys
    top = module.split(".")[0]
    if not top or top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ()):
        return True
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None) or ""
    locations = list(getattr(spec, "submodule_search_locations", None) or [])
    return spec is not None and any(("site-packages" in p or "dist-packages" in p or "/lib/python" in p)
                                    for p in [origin] + locations)


class _Scanner(ast.NodeVisitor):
    """Collects (kind, rule, line, what) for one cell's tree."""

    def __init__(self, derivative, offset=0):
        self.derivative, self.offset, self.aliases, self.modules, self.found = derivative, offset, {}, set(MODULES), []
        self.called = set()  # ids of the nodes that are the function of a call (not a function passed as a value)

    # names: a dotted path with the import it came from
    def dotted(self, node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            parts.append(self.aliases.get(node.id, node.id))
        elif isinstance(node, ast.Call):
            parts.append(self.dotted(node.func) + "()")
        else:
            return ""
        return ".".join(reversed(parts))

    def module_like(self, node):
        """Whether an expression is (or may be) a module or something imported from one, not the student's own object."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Subscript) and self.dotted(node.value) == "sys.modules":
                return True
            node = node.value
        if isinstance(node, ast.Name):
            return node.id in self.modules
        if isinstance(node, ast.Call):
            name = self.dotted(node.func).rsplit(".", 1)[-1]
            return name in ("import_module", "__import__", "get_ipython", "vars", "globals", "locals")
        return False

    def add(self, kind, rule, node, what=""):
        self.found.append((kind, rule, getattr(node, "lineno", 1) + self.offset, what))

    def unreadable(self, rule, node):
        self.add("unreadable_code", rule, node, UNREADABLE[rule])

    def name_used(self, name, dotted, node):
        """One name (an attribute, an imported name, or a constant string given to getattr) and its full path."""
        if self.derivative and (name in AUTOGRAD_NAMES or _under(dotted, AUTOGRAD_MODULES)):
            self.add("autograd", dotted or name, node)
        for rule, (names, prefixes, what) in TAMPERING.items():
            if name in names or _under(dotted, prefixes):
                self.add("tampering", rule, node, what)
        if name in SHELL_ONLY and dotted.startswith(SHELL_ROOTS) and "." in dotted:
            self.add("tampering", "ipython_hook", node, TAMPERING["ipython_hook"][2])
        if any(_under(dotted, (prefix,)) for prefix in DYNAMIC_CODE):
            self.unreadable("dynamic", node)

    def imported(self, module, node):
        if not _installed(module):
            self.unreadable("import", node)

    def visit_Import(self, node):
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            self.modules.add(alias.asname or alias.name.split(".")[0])
            self.imported(alias.name, node)
            for i, name in enumerate(alias.name.split(".")):
                self.name_used(name, ".".join(alias.name.split(".")[:i + 1]), node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level == 0:
            self.imported(module, node)
        else:
            self.unreadable("import", node)
        for i, name in enumerate(module.split(".")):
            self.name_used(name, ".".join(module.split(".")[:i + 1]), node)
        for alias in node.names:
            full = f"{module}.{alias.name}" if module else alias.name
            self.aliases[alias.asname or alias.name] = full
            self.modules.add(alias.asname or alias.name)
            self.name_used(alias.name, full, node)

    def visit_Attribute(self, node):
        path = self.dotted(node)
        self.name_used(node.attr, path, node)
        if isinstance(node.ctx, ast.Store):
            self.stored(node)
        if node.attr == "requires_grad" and isinstance(node.ctx, ast.Store) and self.derivative:
            self.add("autograd", "requires_grad", node)
        if node.attr in AS_VALUE and id(node) not in self.called and \
                path.split(".")[0] in ("builtins", "__builtins__", "importlib", "operator", "inspect"):
            self.unreadable("value", node)  # importlib.import_module passed around as a value
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.aliases:  # an imported name: `relu` after `from torch import relu`
            full = self.aliases[node.id]
            self.name_used(full.rsplit(".", 1)[-1], full, node)
            if full.rsplit(".", 1)[-1] in AS_VALUE and id(node) not in self.called:
                self.unreadable("value", node)
        elif node.id in AS_VALUE and isinstance(node.ctx, ast.Load) and id(node) not in self.called:
            self.unreadable("value", node)  # f = getattr; f(torch, name)
        if isinstance(node.ctx, ast.Store) and node.id in VISIBLE_HELPERS:
            self.add("helper_redefined", node.id, node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and GRADER_TEXT.search(node.value):
            self.add("tampering", "grader_module", node, TAMPERING["grader_module"][2])

    def visit_FunctionDef(self, node):
        if node.name in VISIBLE_HELPERS:
            self.add("helper_redefined", node.name, node)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node):
        for target in node.targets:
            self.stored(target)
            if isinstance(target, ast.Name) and self.module_like(node.value):
                self.modules.add(target.id)  # m = torch; m = importlib.import_module('torch')
        self.generic_visit(node)

    def stored(self, target):
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            path = self.dotted(target.value if isinstance(target, ast.Subscript) else target)
            if path.split(".")[0] in PATCHED_MODULES and ("." in path or isinstance(target, ast.Subscript)):
                self.add("monkeypatch", path, target)

    def visit_Subscript(self, node):
        # vars(torch)[name], torch.__dict__[name], globals()[name] with a name built at run time
        holder = node.value
        namespace = isinstance(holder, ast.Call) and self.dotted(holder.func) in ("vars", "globals", "locals")
        if namespace or (isinstance(holder, ast.Attribute) and holder.attr == "__dict__") or \
                self.dotted(holder) == "sys.modules":
            key = constant_string(node.slice)
            if namespace:  # vars(obj) is obj's own names; vars(), globals(), locals() are the kernel's namespace
                of_module = not holder.args or self.module_like(holder.args[0])
            else:
                of_module = isinstance(holder, ast.Subscript) or self.module_like(getattr(holder, "value", holder))
            if key is None and of_module:
                self.unreadable("name", node)
            elif key is not None:
                self.name_used(key, f"{self.dotted(holder)}.{key}", node)
        self.generic_visit(node)

    def visit_keyword(self, node):
        if node.arg == "requires_grad" and self.derivative and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            self.add("autograd", "requires_grad", node.value)
        self.generic_visit(node)

    def visit_Call(self, node):
        self.called.add(id(node.func))
        path = self.dotted(node.func)
        path = path[len("builtins."):] if path.startswith("builtins.") else path
        name = path.rsplit(".", 1)[-1]
        if name in ("setattr", "delattr") and node.args and self.dotted(node.args[0]).split(".")[0] in PATCHED_MODULES:
            self.add("monkeypatch", self.dotted(node.args[0]), node)
        if name in NAME_BUILTINS and len(node.args) >= 2 and "." not in path:
            attr = constant_string(node.args[1])
            if attr is not None:
                self.name_used(attr, f"{self.dotted(node.args[0])}.{attr}", node)
            elif name != "hasattr" and self.module_like(node.args[0]):
                self.unreadable("name", node)  # getattr(torch, name): what it fetches cannot be read
        elif name in CODE_BUILTINS and "." not in path and node.args:
            self.code(constant_string(node.args[0]), node)
        elif name in ("__import__", "import_module") and node.args:
            module = constant_string(node.args[0])
            if module is None:
                self.unreadable("import", node)
            else:
                self.imported(module, node)
                for i, part in enumerate(module.split(".")):
                    self.name_used(part, ".".join(module.split(".")[:i + 1]), node)
        elif name in ("attrgetter", "methodcaller", "getattr_static") and node.args:
            attr = constant_string(node.args[-1] if name == "getattr_static" else node.args[0])
            if attr is None:
                self.unreadable("name", node)
            else:
                self.name_used(attr.rsplit(".", 1)[-1], attr, node)
        elif name in ("vars", "globals", "locals") and "." not in path:
            pass  # read by visit_Subscript when indexed; alone it names nothing
        elif path.endswith("get_ipython().run_line_magic") or path.endswith("get_ipython().run_cell_magic"):
            self.magic(node, cell=path.endswith("cell_magic"))
        elif path.startswith("get_ipython().") and name in ("ex", "ev", "magic", "safe_execfile", "safe_run_module",
                                                             "runcode", "run_cell_magic", "run_line_magic"):
            self.unreadable("exec", node)
        elif name == "__getattribute__" and len(node.args) >= 2 and constant_string(node.args[1]) is None \
                and self.module_like(node.args[0]):
            self.unreadable("name", node)
        self.generic_visit(node)

    def code(self, text, node):
        """exec('...') is that code; code built at run time cannot be read."""
        if text is None:
            self.unreadable("exec", node)
            return
        for kind, rule, _, what in scan_source(text, self.derivative):
            self.found.append(("unreadable_code", "exec", node.lineno + self.offset, UNREADABLE["exec"])
                              if kind == "syntax" else (kind, rule, node.lineno + self.offset, what))

    def magic(self, node, cell):
        args = [constant_string(a) for a in node.args]
        name = args[0] if args else None
        if name is None or (cell and len(args) < 3):
            self.unreadable("magic", node)
        elif cell and name in PY_CELL_MAGICS:
            self.code_at(args[2], node, offset=node.lineno + self.offset)  # the body starts on the cell's line 2
        elif not cell and name in PY_LINE_MAGICS:
            self.code_at(re.sub(r"^(\s*-[nrpo]\s*\S+|\s*-[tcqd])*\s*", "", args[1] or ""), node,
                         offset=node.lineno + self.offset - 1)
        elif not cell and name == "load_ext":
            if (args[1] or "").strip() not in SAFE_EXTENSIONS:
                self.unreadable("magic", node)
        elif name not in (SAFE_CELL_MAGICS if cell else SAFE_LINE_MAGICS):
            self.unreadable("magic", node)

    def code_at(self, text, node, offset):
        if text is None:
            self.unreadable("magic", node)
            return
        for kind, rule, line, what in scan_source(text, self.derivative, offset):
            self.found.append(("unreadable_code", "magic", node.lineno + self.offset, UNREADABLE["magic"])
                              if kind == "syntax" else (kind, rule, line, what))


def _under(dotted, prefixes):
    return bool(dotted) and any(dotted == p or dotted.startswith(p + ".") for p in prefixes)


def scan_source(source, derivative=False, offset=0):
    """[(kind, rule, line, what)] for one cell's source (lines of the cell); ('syntax', ...) when it does not
    parse. `derivative`: the cell is the answer cell of a part whose code holds a derivative (no autograd there)."""
    try:
        tree = ast.parse(python_source(source))
    except (SyntaxError, ValueError) as err:
        return [("syntax", "syntax_error", (getattr(err, "lineno", 1) or 1) + offset, f"语法错误:{err}")]
    except (RecursionError, MemoryError):
        return [("unreadable_code", "too_deep", 1 + offset, UNREADABLE["too_deep"])]
    scanner = _Scanner(derivative, offset)
    try:
        scanner.visit(tree)
    except RecursionError:
        return [("unreadable_code", "too_deep", 1 + offset, UNREADABLE["too_deep"])]
    return scanner.found


# ---------------------------------------------------------------- the visible tests' advice (in the student's kernel)
ADVICE = {}  # grade id -> what the advice needs (tools/release.py fills it in the notebook's copy of this file)
MARK = "〔评分规则〕"
CELL_ID, CELL_MARK = "lab2_rules", "# ---- 评分规则检查"  # the notebook's rules cell: its grade id, its first line
CELL_SHOWN = (f"{CELL_MARK}(代码与作业里的这个单元相同,评分后的笔记本里不再显示)----\n"
              "# 可见测试用它给出评分规则的提示;评分时在内核之外、用同样的规则判定。\n")
CELL_UNDER_AUTOGRADE = ("import types\n"  # what autograde runs in its place: the advice is silent there anyway
                        "lab2_rules = types.SimpleNamespace(advise=lambda grade_id, obj: None)\n")


def advise(grade_id, obj):
    """Say, before the student submits, what the grader's rules will decide about this test: the same rules
    (this file), on the code run so far in this kernel and on what this part's code runs. Only advice: the
    grader decides outside the kernel. Under autograde it says nothing (the grader's verdict follows)."""
    import os
    if os.environ.get("NBGRADER_EXECUTION") == "autograde" or grade_id not in ADVICE:
        return
    spec = ADVICE[grade_id]
    try:
        notes = _history_notes(spec) or _run_notes(spec, obj)
    except Exception as err:  # the advice must never stop a visible test; the grader decides anyway
        print(f"{MARK}{grade_id}: 评分规则检查没能运行完({type(err).__name__}: {err}),这不影响评分。")
        return
    order = (FINDING_KINDS["tampering"].mistake, FINDING_KINDS["unreadable_code"].mistake)
    notes.sort(key=lambda note: order.index(note[0]) if note[0] in order else len(order))
    for mistake, text in notes[:3]:
        print(f"{MARK}{grade_id}: {mistake} —— {text}")
    if not notes:
        print(f"{MARK}{grade_id}: 没有发现违反评分规则的地方(评分时在内核之外用同样的规则判定)。")


def _history():
    """The code run in this kernel before the current cell, oldest first (IPython's In), without the rules cell."""
    try:
        entries = list(get_ipython().user_ns.get("In", []))[1:-1]  # noqa: F821  (IPython's own function)
    except NameError:
        return []
    return [(i + 1, text) for i, text in enumerate(entries) if text and not text.lstrip().startswith(CELL_MARK)]


def _defines(source, names):
    try:
        tree = ast.parse(python_source(source))
    except (SyntaxError, ValueError, RecursionError):
        return False
    defined = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    return bool(defined & set(names))


def _history_notes(spec):
    notes = []
    for number, source in _history():
        derivative = spec["derivative"] and _defines(source, [spec["obj"]])
        for kind, rule, line, what in scan_source(source, derivative):
            declared = FINDING_KINDS[kind]
            if declared.cost in (AFTER, REVIEW):
                notes.append((declared.mistake, declared.advice.format(number=number, line=line, what=what)))
            elif declared.cost == DERIVATIVE and derivative and spec["derivative_test"]:
                notes.append((declared.mistake.format(part=spec["part"]), message("autograd", spec["what"], [rule], "")))
    return notes


def _run_notes(spec, obj):
    """Run this test's calls (the grader's plan, on inputs of its own) under the recorder; the first rule broken."""
    if spec["ops"] is None:
        return []
    allowed, allowed_text = ALLOWLISTS[spec["ops"]]
    plan, calls = spec["plan"], []
    inputs = {k: materialize(v) for k, v in plan["inputs"].items()}
    try:
        fn = obj() if plan["collector"] == "activation" else obj
        fn = getattr(fn, plan["method"]) if plan["collector"] == "activation" and plan["method"] != "__call__" else fn
    except Exception:  # the visible tests say what is wrong with it
        return []
    with Recorder("advice") as recorder:
        for case in [c for c in plan["cases"] if not c.get("hint_only")]:
            if plan["collector"] == "activation":
                args = [inputs[case["input"]].reshape(case["shape"]).clone()]
            else:
                args = [inputs[a["input"]].clone() if "input" in a else a["value"] for a in case["args"]]
            if case.get("backward") or case.get("requires_grad"):
                args[0].requires_grad_(True)
            with torch.enable_grad():
                result = recorder.call(fn, args)
                out = result.get("value")
                grad = None
                if case.get("backward") and isinstance(out, torch.Tensor) and out.requires_grad:
                    try:
                        grad, = torch.autograd.grad(out.sum(), args[0], allow_unused=True)
                    except RuntimeError:
                        grad = None
            calls.append((result, case, args[0], out, grad))
    for index, (result, case, x, out, grad) in enumerate(calls):
        if result["error"]:
            return []
        broken = violation(allowed, recorder.ops(index), result["funcs"], derivative=spec["derivative_test"],
                           in_torch=spec["in_torch"])
        if broken:
            kind, names = broken
            return [(f"{spec['part']}_{MISTAKES[kind]}", message(kind, spec["what"], names, allowed_text))]
        if case.get("backward") and spec["reference"] and isinstance(out, torch.Tensor):
            reference = getattr(torch, spec["reference"])
            if out.shape != x.shape or not _allclose(out.detach().double(), reference(x.detach().double()),
                                                     rtol=1e-4, atol=1e-5):
                return []  # a wrong value: the visible tests say so (the grader fails it before looking at the graph)
            why = graph_mistake(x, out.requires_grad, grad, reference)
            if why:
                return [(f"{spec['part']}_cuts_graph", graph_message(spec["what"], why))]
    return []
