"""What a part's code may use: the allowlists of aten ops, named by each part's declaration (its `ops`), the rules
about leaving torch and about autograd in a derivative, and the messages of each broken rule (the grader's verdict
and the visible tests' advice, in the same words)."""
import torch

from .finding_kinds import FINDING_KINDS
from .recorder import ENGINE, RECORDER_STOPPED

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
# <part>_<this>; autograd in a derivative is also a finding in the source (finding_kinds.py), one id for both
MISTAKES = {"op": "op_not_allowed", "leaves_torch": "leaves_torch",
            "autograd": FINDING_KINDS["autograd"].mistake.removeprefix("{part}_")}
# what an answer cell may run while it runs, besides its part's ops: inputs for a quick try of its own code
AT_DEFINITION = RANDOM | {"arange", "linspace", "logspace", "eye"}

# leaving torch (function-level names): any of these, or a Python number per element
LEAVES_TORCH = {"numpy", "tolist", "__array__", "__array_wrap__"}
PER_ELEMENT = {"item", "__float__", "__int__", "__index__", "__complex__"}
PER_ELEMENT_LIMIT = 16  # a few scalars (a hyperparameter) are fine; one per element is a round trip
AUTOGRAD_CALLS = {"backward", "grad", "vjp", "jvp", "jacobian", "hessian", "vmap", "jacrev", "jacfwd", "requires_grad_",
                  "_set_grad_enabled", "make_dual", "unpack_dual", "_make_dual", "_unpack_dual"}
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


def outside_message(what, outside):
    """A call that read state from outside: a tensor of more than a few elements it did not compute from its inputs."""
    shown = "、".join(f"形状 {tuple(t['shape'])} 的 {t['dtype']} 张量({t['numel']} 个元素)" for t in outside)
    return (f"{what} 读取了不是在这次调用里由输入算出来的张量:{shown}。这是在调用之外准备好的数据(预先算好的表、缓存、"
            "存下来的结果,或别的线程算出的结果),评分无法确认它是怎么算出来的。请在函数里直接由输入 x 计算结果"
            "(几个元素的常量没有关系)。这一部分评分时不计分。")


def definition_message(code, names, allowed_text):
    """An answer cell that ran, while it ran (class body, helpers, default arguments, tensors built for later), an op
    its part does not allow."""
    shown = ", ".join(known_as(n) if n not in (ENGINE, RECORDER_STOPPED) else "自动求导" if n == ENGINE
                      else "(记录运算的工具被关掉了)" for n in names)
    note = "(别的激活函数的库函数也算库函数)" if any(without_inplace(n) in LIBRARY_ACTIVATIONS for n in names) else ""
    return (f"{code} 的答案单元运行时(类体、模块级的辅助代码、默认参数或预先算好的张量里)用了 {shown}:这一部分的代码"
            f"在任何地方都只能用{allowed_text}{note}。这一部分评分时不计分。")


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
