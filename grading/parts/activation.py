"""What the three activation parts (relu.py, sigmoid.py, tanh.py) share: a class with `__call__(x)` and
`derivative(x)`, each graded by one test cell, on inputs drawn for this grading run.

`activation_part(...)` makes the Part of one activation from what differs: its reference function and
derivative, the derivative's value at 0, the library's names, the points and the sample mistake.
"""
import math
from functools import partial

from grading import judging
from grading.rules import allowlists
from grading.judging import Failed
from grading.parts import Part, Test

GRID = 6300  # inputs per dtype: a grid over [-20, 20], small values around 0, exact zeros, random points (60 × 105)
_BIG = {"kind": "values", "dtype": "float32", "shape": [4], "values": [-100.0, -90.0, 90.0, 100.0]}
_ZERO = {"kind": "values", "dtype": "float32", "shape": [3], "values": [0.0, 0.0, 0.0]}
# the same calls on the meta device (PyTorch's device without data: a tensor made on the CPU and mixed in fails there
# as it would on a GPU), in both dtypes: the result must stay on the input's device, in its dtype
_ON_DEVICE = [{"input": "x32", "shape": [60, 105], "device": "meta"}, {"input": "x64", "shape": [GRID], "device": "meta"}]


def _grids(seed):
    return {f"x{bits}": {"kind": "activation", "dtype": f"float{bits}", "seed": seed + bits, "lo": -20.0,
                         "hi": 20.0, "n": GRID} for bits in (32, 64)}


def plan_value(seed):
    cases = [{"input": x, "shape": shape} for x in ("x32", "x64") for shape in ([GRID], [60, 105], [3, 20, 105])]
    return {"collector": "activation", "method": "__call__", "inputs": dict(_grids(seed), big=_BIG),
            "cases": cases + [{"input": "big", "shape": [4], "hint_only": True},
                              {"input": "x64", "shape": [GRID], "backward": True}] + _ON_DEVICE}  # the gradient reaches x


def plan_derivative(seed):
    cases = [{"input": "zero", "shape": [3]}, {"input": "x32", "shape": [GRID]}, {"input": "x64", "shape": [GRID]},
             {"input": "big", "shape": [4], "hint_only": True}] + _ON_DEVICE  # x = 0 first: the commonest mistake, named
    return {"collector": "activation", "method": "derivative", "cases": cases,
            "inputs": dict(_grids(seed), big=_BIG, zero=_ZERO)}


def _construct(part, meta, method):
    error = meta.get("construct_error")
    if error:
        raise Failed(f"{part.name}_construct_error", f"无法创建 {part.obj}():{judging.err_text(error)}")
    if meta.get("missing_method"):
        what = "derivative 方法" if method == "derivative" else "__call__ 方法(实例不能被调用)"
        raise Failed(f"{part.name}_missing_method", f"{part.obj} 缺少 {what}。")


def _overflow_hint(compared, call, arrays, what, overflows):
    """Beyond the graded range (e^x overflows for |x| large) only a hint, no points lost."""
    if not overflows:
        return
    info = call.get("out")
    bad = True
    if not call.get("error") and isinstance(info, dict) and info.get("array") in arrays:
        out = arrays[info["array"]].double()
        bad = bool((out.isnan() | out.isinf()).any().item())
    if bad:
        compared(f"(提示,不扣分){what} 在 |x| ≥ 90 时得到 NaN/inf:float32 的 e^x 在 x > 88.7 时溢出。"
            f"数值稳定的写法例如按 x 的正负分别计算,或用 e^(-|x|) 改写公式。")


def _cases(part, plan, meta, arrays, compared, method, overflows):
    """(what, case, call, x) of each graded call, after the class was made (a hint-only case only gives its hint)."""
    what = f"{part.obj}.{method}"
    _construct(part, meta, method)
    xs, calls = judging.inputs_of(plan), meta["calls"]
    judging.warnings_of(compared, calls)
    for case, call in zip(plan["cases"], calls, strict=True):
        if case.get("hint_only"):
            _overflow_hint(compared, call, arrays, what, overflows)
            continue
        yield what, case, call, xs[case["input"]].reshape(case["shape"])


def _device_case(part, case, call, x, what, compared):
    """A case on the meta device: only where the result lives, its shape and dtype (the CPU cases judge the rest)."""
    judging.judge_device(compared, call, part, what, case["device"], x.dtype, shape=tuple(x.shape))


def judge_value(part, plan, meta, arrays, compared, *, reference, overflows):
    for what, case, call, x in _cases(part, plan, meta, arrays, compared, "__call__", overflows):
        if judging.on_device(case):
            _device_case(part, case, call, x, what, compared)
            continue
        judging.ran_within_rules(call, part, what)
        out = judging.tensor(call["out"], arrays, part.name, what, like=x)
        if case.get("backward"):
            grad = call.get("grad")
            grad = judging.tensor(grad, arrays, part.name, f"{what} 对 x 的梯度", like=x) if grad else None
            why = call.get("backward_error") or allowlists.graph_mistake(x, call["out"].get("requires_grad"), grad, reference)
            if why:
                raise Failed(f"{part.name}_cuts_graph", allowlists.graph_message(what, why))
            compared(f"{what}:梯度能传回输入 x,与导数一致")
            continue
        if not judging.unchanged(call, x):
            raise Failed(f"{part.name}_modifies_input",
                         f"{what} 修改了输入张量 x(原地操作)。激活函数不应改变它的输入,请用不带下划线的运算。")
        judging.compare(compared, f"{part.name}_value_mismatch", f"{what} [{judging.dtype_name(x)}, 形状 {tuple(x.shape)}]",
                        out, reference(x.double()), x)
        judging.kept_dtype(compared, call["out"], x.dtype, part, f"{what} [{judging.dtype_name(x)}]")


def judge_derivative(part, plan, meta, arrays, compared, *, derivative, at_zero, zero_hint, overflows):
    for what, case, call, x in _cases(part, plan, meta, arrays, compared, "derivative", overflows):
        if judging.on_device(case):
            _device_case(part, case, call, x, what, compared)
            continue
        judging.ran_within_rules(call, part, what, autograd_ok=False)
        if case["input"] == "zero":
            info = call.get("out")
            if not isinstance(info, dict) or info.get("array") not in arrays:
                raise Failed(f"{part.name}_not_a_tensor", f"{what} 应返回 torch.Tensor。")
            got0 = [float(v) for v in arrays[info["array"]].double().reshape(-1)]
            if not got0:
                raise Failed(f"{part.name}_wrong_shape", f"{what}(0) 没有返回任何值。")
            compared(f"{what}(0) = {got0[0]:g}(应为 {at_zero:g})")
            if max(abs(v - at_zero) if v == v else math.inf for v in got0) > 1e-6:
                raise Failed(f"{part.name}_derivative_at_zero",
                             f"{what} 在 x = 0 处应为 {at_zero:g}(与 PyTorch 的约定一致),实际为 {got0[0]:g}。" + zero_hint)
            continue
        out = judging.tensor(call["out"], arrays, part.name, what, like=x)
        if not judging.unchanged(call, x):
            raise Failed(f"{part.name}_modifies_input", f"{what} 修改了输入张量 x(原地操作)。请用不带下划线的运算。")
        judging.compare(compared, f"{part.name}_derivative_mismatch", f"{what} [{judging.dtype_name(x)}]", out,
                        derivative(x.double()), x)
        judging.kept_dtype(compared, call["out"], x.dtype, part, f"{what} [{judging.dtype_name(x)}]")


CLASS = ("construct_error", "missing_method")  # _construct: the class could not be made (or is no class), or called
VALUE = CLASS + ("cuts_graph", "modifies_input", "value_mismatch", judging.DEVICE, judging.DTYPE)  # judge_value
DERIVATIVE = CLASS + ("derivative_at_zero", "modifies_input", "derivative_mismatch", judging.DEVICE,
                      judging.DTYPE)  # judge_derivative


def activation_part(*, name, order, title, cls, reference, derivative, at_zero, points, zero_hint="", overflows=True,
                    sample_mistake=(), sample_fails=(), done_in_partial_sample=False):
    """The Part of one activation class `cls` (MyReLU, ...), graded by `<name>_value` and `<name>_derivative`."""
    tests = (Test(f"{name}_value", points[0], f"{title} 的函数值", plan_value,
                  partial(judge_value, reference=reference, overflows=overflows), reference=reference.__name__,
                  mistakes=VALUE),
             Test(f"{name}_derivative", points[1], f"{title} 的导数", plan_derivative,
                  partial(judge_derivative, derivative=derivative, at_zero=at_zero, zero_hint=zero_hint,
                          overflows=overflows), mistakes=DERIVATIVE))
    return Part(name=name, order=order, title=title, code=cls, answer=f"{name}_impl", obj=cls, tests=tests,
                ops="basic", in_torch=True, derivative=True, section="激活函数",
                sample_mistake=sample_mistake, sample_fails=sample_fails,
                done_in_partial_sample=done_in_partial_sample)
