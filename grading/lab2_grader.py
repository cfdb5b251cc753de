"""实验二隐藏测试的判定:在内核之外的评分进程里运行(grading/safe_execute.py 调用)。

每个测试单元的隐藏部分只有一行 `lab2_probe.check('<grade_id>', <学生的类或函数>)`。评分时:

1. plan(grade_id, seed):用本次评分新生成的随机秘密 seed 决定输入(学生无法事先写死答案);
2. 内核里的探针(grading/lab2_probe.py)按 plan 调用学生代码,把输出作为纯数据发回;
3. judge(grade_id, plan, message):在这里用 torch 自己的实现算参考值,按容差比较,决定这个测试
   单元得分与否,并写出中文信息(比较过的数值、错在哪里)和稳定的错误编号(mistake id)。

内核里发生的任何事情最多只能改变发回的数据;参考值、容差、分数和信息都只在这里。
数据格式:JSON + npz(numpy.load(allow_pickle=False),读取时不执行代码),解码时检查大小和类型。
"""
import base64
import binascii
import io
import json
import math
import zipfile
from dataclasses import dataclass, field

import numpy as np
import torch

from grading import lab2_probe
from course import part as _part

MAX_MESSAGE_BYTES = 64 << 20   # one probe message, as text
MAX_ARRAY_BYTES = 256 << 20    # all arrays of one message, unpacked
FLOATING = {"torch.float16", "torch.bfloat16", "torch.float32", "torch.float64"}

# What a part must not call (the probe records torch function names and aten operator names).
FORBIDDEN_OPS = {
    "relu": {"relu", "relu_", "threshold", "threshold_", "threshold_backward", "leaky_relu", "leaky_relu_",
             "leaky_relu_backward", "rrelu", "prelu", "_prelu_kernel", "relu6"},
    "sigmoid": {"sigmoid", "sigmoid_", "expit", "special_expit", "logsigmoid", "sigmoid_backward",
                "log_sigmoid_forward"},
    "tanh": {"tanh", "tanh_", "tanh_backward"},
    "dropout": {"dropout", "dropout_", "dropout1d", "dropout2d", "dropout3d", "feature_dropout", "feature_dropout_",
                "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout", "native_dropout", "_fused_dropout"},
}
AUTOGRAD_OPS = {"backward", "grad", "vjp", "jvp", "jacobian", "hessian", "vmap", "jacrev", "jacfwd",
                "_make_dual", "_unpack_dual", "make_dual", "unpack_dual", "requires_grad_", "_set_grad_enabled"}
LIB_NAMES = {"relu": "torch.relu / nn.ReLU / F.relu / Tensor.relu",
             "sigmoid": "torch.sigmoid / nn.Sigmoid / F.sigmoid / Tensor.sigmoid",
             "tanh": "torch.tanh / nn.Tanh / F.tanh / Tensor.tanh",
             "dropout": "F.dropout / nn.Dropout / torch.dropout"}
CN = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}


class Failed(Exception):
    """A test cell's failure: a stable mistake id (counted in the class report) and the Chinese message."""

    def __init__(self, mistake, message):
        super().__init__(message)
        self.mistake, self.message = mistake, message


@dataclass
class Verdict:
    passed: bool
    lines: list = field(default_factory=list)   # what was compared, shown whether it passed or not
    mistake: str = ""
    message: str = ""


class BadData(Exception):
    """The data that came out of the kernel is not what the probe writes."""


# ---------------------------------------------------------------- decoding the kernel's data
def decode(text):
    """(meta, {name: tensor}) from a probe message; raises BadData for anything else. Runs no code."""
    if not isinstance(text, str) or len(text) > MAX_MESSAGE_BYTES:
        raise BadData("message missing or too large")
    try:
        message = json.loads(text)
        meta, packed = message["meta"], base64.b64decode(message["npz"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise BadData(f"not a probe message ({type(err).__name__})") from None
    if not isinstance(meta, dict):
        raise BadData("meta is not an object")
    try:
        with zipfile.ZipFile(io.BytesIO(packed)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_ARRAY_BYTES:
                raise BadData("arrays too large")
        with np.load(io.BytesIO(packed), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except BadData:
        raise
    except Exception as err:  # a broken or hostile archive
        raise BadData(f"unreadable arrays ({type(err).__name__})") from None
    for name, array in arrays.items():
        if array.dtype.kind not in "fbiu":
            raise BadData(f"array {name} has dtype {array.dtype}")
    return meta, {name: torch.from_numpy(np.array(array)) for name, array in arrays.items()}


# ---------------------------------------------------------------- plans: this run's inputs
def _activation_specs(seed):
    return {f"x{bits}": {"kind": "activation", "dtype": f"float{bits}", "seed": seed + bits, "lo": -20.0,
                         "hi": 20.0, "n": 6300} for bits in (32, 64)}  # 6300 = 60 × 105


_BIG = {"kind": "values", "dtype": "float32", "shape": [4], "values": [-100.0, -90.0, 90.0, 100.0]}
_ZERO = {"kind": "values", "dtype": "float32", "shape": [3], "values": [0.0, 0.0, 0.0]}


def _plan_value(name, seed):
    cases = [{"input": x, "shape": shape} for x in ("x32", "x64") for shape in ([6300], [60, 105], [3, 20, 105])]
    return {"collector": "activation", "method": "__call__", "inputs": dict(_activation_specs(seed), big=_BIG),
            "cases": cases + [{"input": "big", "shape": [4], "hint_only": True}]}


def _plan_derivative(name, seed):
    cases = [{"input": "zero", "shape": [3]}, {"input": "x32", "shape": [6300]}, {"input": "x64", "shape": [6300]},
             {"input": "big", "shape": [4], "hint_only": True}]  # x = 0 first: the commonest mistake, named
    return {"collector": "activation", "method": "derivative", "cases": cases,
            "inputs": dict(_activation_specs(seed), big=_BIG, zero=_ZERO)}


FORWARD_CASES = ((3, 12, 5, 7), (1, 9, 4, 3), (0, 6, 3, 2))  # num_layers, input_dim, output_dim, batch


def _plan_forward(name, seed):
    return {"collector": "forward", "activation": name,
            "inputs": {f"x{i}": {"kind": "randn", "dtype": "float32", "shape": [batch, in_dim], "seed": seed + i}
                       for i, (_, in_dim, _, batch) in enumerate(FORWARD_CASES)},
            "cases": [{"num_layers": n, "input_dim": i, "output_dim": o, "input": f"x{k}", "init_seed": seed + 100 + k}
                      for k, (n, i, o, _) in enumerate(FORWARD_CASES)]}


L2_SHAPES = (((200, 1), 32), ((1, 200), 32), ((5,), 32), ((3, 4), 64), ((2, 3, 4), 32), ((10, 10), 64))


def _plan_l2(grad, seed):
    return {"collector": "function",
            "inputs": {f"w{i}": {"kind": "randn", "dtype": f"float{bits}", "shape": list(shape), "seed": seed + i}
                       for i, (shape, bits) in enumerate(L2_SHAPES)},
            "cases": [{"args": [{"input": f"w{i}"}], "requires_grad": grad, "backward": grad}
                      for i in range(len(L2_SHAPES))]}


def _plan_dropout(inputs, calls, seed):
    """inputs: name -> (shape, float bits); calls: (input name, p) in order."""
    return {"collector": "function",
            "inputs": {name: {"kind": "rand_plus_one", "dtype": f"float{bits}", "shape": list(shape), "seed": seed + i}
                       for i, (name, (shape, bits)) in enumerate(inputs.items())},
            "cases": [{"args": [{"input": name}, {"value": p}]} for name, p in calls]}


DROPOUT_EDGES = ({"X": ((16, 32), 32)}, (("X", 0.0), ("X", 1.0)))
DROPOUT_STATS = ({f"X{p}_{bits}": ((400, 250), bits) for p in (0.2, 0.5, 0.7) for bits in (32, 64)},
                 tuple((f"X{p}_{bits}", p) for p in (0.2, 0.5, 0.7) for bits in (32, 64)))
# the first and the last call: the same X and p (is the mask new each call?); between them, other shapes
DROPOUT_MASK = ({"X": ((400, 250), 32), "v": ((10000,), 64), "c": ((10, 20, 30), 64)},
                (("X", 0.5), ("v", 0.3), ("c", 0.3), ("X", 0.5)))

PLANS = {
    **{f"{n}_value": (lambda seed, n=n: _plan_value(n, seed)) for n in CN},
    **{f"{n}_derivative": (lambda seed, n=n: _plan_derivative(n, seed)) for n in CN},
    **{f"forward_{n}": (lambda seed, n=n: _plan_forward(n, seed)) for n in CN},
    "l2_value": lambda seed: _plan_l2(False, seed),
    "l2_grad": lambda seed: _plan_l2(True, seed),
    "dropout_edges": lambda seed: _plan_dropout(*DROPOUT_EDGES, seed),
    "dropout_stats": lambda seed: _plan_dropout(*DROPOUT_STATS, seed),
    "dropout_mask": lambda seed: _plan_dropout(*DROPOUT_MASK, seed),
}


RNG_SEED = 20241127  # the kernel's global RNG before each probe: the student's own random draws (dropout
# masks) are the same in every grading run, so a statistical check gives every run the same verdict


def plan(grade_id, seed, token=""):
    """The plan of one hidden test: which collector, which inputs (from `seed`), which calls."""
    result = PLANS[grade_id](int(seed) % (2 ** 62))
    result.update(grade_id=grade_id, token=token, rng_seed=RNG_SEED)
    return result


def inputs_of(plan_):
    return {name: lab2_probe.materialize(spec) for name, spec in plan_["inputs"].items()}


# ---------------------------------------------------------------- helpers on the received data
class _Report:
    def __init__(self):
        self.lines = []

    def __call__(self, line):
        self.lines.append(line)


def _err_text(error):
    return f"{error.get('type', 'Error')}: {error.get('message', '')}"


def _run_result(call, part, what, autograd_ok=True):
    """The common checks of one call: it ran, it used no library op of its part, no autograd."""
    if not isinstance(call, dict):
        raise BadData("call is not an object")
    error = call.get("error")
    if error:
        if error.get("type") == "NotImplementedError":
            raise Failed(f"{part}_not_implemented",
                         f"{what} 还没有实现(抛出了 NotImplementedError)。请完成对应的 TODO 单元并重新运行它。")
        raise Failed(f"{part}_runtime_error", f"{what} 运行时出错:{_err_text(error)}")
    ops = set(call.get("ops") or [])
    used = sorted(ops & FORBIDDEN_OPS.get(part, set()))
    if used:
        raise Failed(f"{part}_library_op", library_message(part, what, ", ".join(used)))
    if not autograd_ok:
        used = sorted(ops & AUTOGRAD_OPS) + sorted(n for n in ops if n.endswith("_backward"))
        if used:
            raise Failed(f"{part}_autograd", autograd_message(what, ", ".join(used)))
    return call


def library_message(part, what, used):
    return (f"{what} 调用了库里现成的实现({used})。本实验要求自己实现:在这一部分里不能使用 {LIB_NAMES[part]},"
            f"但可以用 exp、maximum、where、clamp、rand、bernoulli 等通用运算。这一部分不得分。")


def autograd_message(what, used):
    return f"{what} 用自动求导求出了导数({used})。请按公式手写导数,不要调用 backward / autograd。"


def _tensor(info, arrays, part, what, like=None, shape=None):
    """The tensor a call returned, checked as the old in-kernel checks did (type, shape, floating)."""
    if not isinstance(info, dict) or info.get("type") != "torch.Tensor":
        got = info.get("type", "?") if isinstance(info, dict) else "?"
        raise Failed(f"{part}_not_a_tensor", f"{what} 应返回 torch.Tensor,实际返回的是 {got}。")
    got_shape = tuple(int(s) for s in info["shape"])
    if like is not None and got_shape != tuple(like.shape):
        raise Failed(f"{part}_wrong_shape", f"{what} 的形状应与输入相同 {tuple(like.shape)},实际为 {got_shape}。")
    if info.get("dtype") not in FLOATING:
        raise Failed(f"{part}_not_floating", f"{what} 应返回浮点张量,实际 dtype 为 {info.get('dtype')}。"
                     "提示:比较运算得到的是布尔张量,需要转成浮点,例如 .to(x.dtype)。")
    if shape is not None and got_shape != shape:
        raise Failed(f"{part}_wrong_shape", f"{what} 的形状应为 {shape},实际为 {got_shape}。")
    array = arrays.get(info.get("array"))
    if array is None or tuple(array.shape) != got_shape:
        raise BadData(f"{what}: data does not match its description")
    return array.double()


def _unchanged(call, *inputs):
    """Whether the call left its tensor inputs as they were (the probe hashed them after the call)."""
    return list(call.get("inputs_sha") or []) == [lab2_probe.digest(t) for t in inputs]


def _errors(out, ref):
    """(max abs error, max rel error, NaN in out), in float64."""
    a, b = out.double(), ref.double()
    diff = (a - b).abs()
    if diff.numel() == 0:
        return 0.0, 0.0, False
    rel = diff / (a.abs() + b.abs()).clamp_min(1e-12)
    return diff.max().item(), rel.max().item(), bool(a.isnan().any().item())


def _compare(say, part, mistake, what, out, ref, x=None, atol=1e-5, rtol=1e-4):
    max_abs, max_rel, has_nan = _errors(out, ref)
    diff = (out.double() - ref.double()).abs()
    bad = (diff > ref.double().abs() * rtol + atol) | out.double().isnan()
    say(f"{what}: 最大绝对误差 {max_abs:.2e},最大相对误差 {max_rel:.2e}")
    if bad.any():
        where = ""
        if x is not None:
            i = int(torch.where(bad, diff.nan_to_num(1e300) + 1.0, torch.zeros_like(diff)).reshape(-1).argmax())
            where = (f";例如 x = {x.reshape(-1)[i].item():.4g} 处,你的结果 {out.reshape(-1)[i].item():.6g},"
                     f"参考值 {ref.reshape(-1)[i].item():.6g}")
        raise Failed(mistake, f"{what} 与参考实现不一致:最大绝对误差 {max_abs:.2e}(允许 {atol:g} + {rtol:g}×|参考值|)"
                     + (",结果里有 NaN" if has_nan else "") + where + "。")


def _warnings(say, calls):
    seen = []
    for call in calls:
        for w in (call.get("warnings") or []) if isinstance(call, dict) else []:
            if w not in seen:
                seen.append(w)
    for w in seen[:5]:
        say(f"(提示)你的代码产生了警告,不扣分:{w}")


def _overflow_hint(say, name, call, arrays, what):
    """Beyond the graded range (e^x overflows for |x| large) only a hint, no points lost."""
    if name == "relu":
        return
    info = call.get("out") if isinstance(call, dict) else None
    bad = True
    if not call.get("error") and isinstance(info, dict) and info.get("array") in arrays:
        out = arrays[info["array"]].double()
        bad = bool((out.isnan() | out.isinf()).any().item())
    if bad:
        say(f"(提示,不扣分){what} 在 |x| ≥ 90 时得到 NaN/inf:float32 的 e^x 在 x > 88.7 时溢出。"
            f"数值稳定的写法例如按 x 的正负分别计算,或用 e^(-|x|) 改写公式。")


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


# ---------------------------------------------------------------- the judgements
REF_VALUE = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def _ref_derivative(name, x):
    x = x.double()
    if name == "relu":
        return (x > 0).double()
    if name == "sigmoid":
        s = torch.sigmoid(x)
        return s * (1 - s)
    return 1 - torch.tanh(x) ** 2


def _construct(meta, name, method):
    if meta.get("not_a_class"):
        raise Failed(f"{name}_not_a_class", f"My{CN[name]} 应是一个类,实际是 {meta['not_a_class']}。")
    error = meta.get("construct_error")
    if error:
        raise Failed(f"{name}_construct_error", f"无法创建 My{CN[name]}():{_err_text(error)}")
    if meta.get("missing_method"):
        what = "derivative 方法" if method == "derivative" else "__call__ 方法(实例不能被调用)"
        raise Failed(f"{name}_missing_method", f"My{CN[name]} 缺少 {what}。")


def judge_value(name, plan_, meta, arrays, say):
    _construct(meta, name, "__call__")
    what = f"My{CN[name]}.__call__"
    xs, calls = inputs_of(plan_), meta["calls"]
    _warnings(say, calls)
    for case, call in zip(plan_["cases"], calls, strict=True):
        if case.get("hint_only"):
            _overflow_hint(say, name, call, arrays, what)
            continue
        x = xs[case["input"]].reshape(case["shape"])
        _run_result(call, name, what)
        out = _tensor(call["out"], arrays, name, what, like=x)
        if not _unchanged(call, x):
            raise Failed(f"{name}_modifies_input",
                         f"{what} 修改了输入张量 x(原地操作)。激活函数不应改变它的输入,请用不带下划线的运算。")
        _compare(say, name, f"{name}_value_mismatch", f"{what} [{_dtype_name(x)}, 形状 {tuple(x.shape)}]",
                 out, REF_VALUE[name](x.double()), x)


def judge_derivative(name, plan_, meta, arrays, say):
    _construct(meta, name, "derivative")
    what = f"My{CN[name]}.derivative"
    xs, calls = inputs_of(plan_), meta["calls"]
    _warnings(say, calls)
    expect0 = {"relu": 0.0, "sigmoid": 0.25, "tanh": 1.0}[name]
    for case, call in zip(plan_["cases"], calls, strict=True):
        if case.get("hint_only"):
            _overflow_hint(say, name, call, arrays, what)
            continue
        x = xs[case["input"]].reshape(case["shape"])
        _run_result(call, name, what, autograd_ok=False)
        if case["input"] == "zero":
            info = call.get("out")
            if not isinstance(info, dict) or info.get("array") not in arrays:
                raise Failed(f"{name}_not_a_tensor", f"{what} 应返回 torch.Tensor。")
            got0 = [float(v) for v in arrays[info["array"]].double().reshape(-1)]
            if not got0:
                raise Failed(f"{name}_wrong_shape", f"{what}(0) 没有返回任何值。")
            say(f"{what}(0) = {got0[0]:g}(应为 {expect0:g})")
            if max(abs(v - expect0) if v == v else math.inf for v in got0) > 1e-6:
                raise Failed(f"{name}_derivative_at_zero",
                             f"{what} 在 x = 0 处应为 {expect0:g}(与 PyTorch 的约定一致),实际为 {got0[0]:g}。"
                             + ("提示:ReLU 的导数在 x > 0 时为 1,x ≤ 0 时为 0。" if name == "relu" else ""))
            continue
        out = _tensor(call["out"], arrays, name, what, like=x)
        if not _unchanged(call, x):
            raise Failed(f"{name}_modifies_input", f"{what} 修改了输入张量 x(原地操作)。请用不带下划线的运算。")
        _compare(say, name, f"{name}_derivative_mismatch", f"{what} [{_dtype_name(x)}]", out,
                 _ref_derivative(name, x), x)


def judge_forward(name, plan_, meta, arrays, say):
    what = f"Network.forward(activation_name='{name}')"
    xs = inputs_of(plan_)
    for case, call in zip(plan_["cases"], meta["calls"], strict=True):
        label = f"{what}[num_layers={case['num_layers']}]"
        if call.get("construct_error"):
            raise Failed("forward_construct_error", f"无法创建 Network(...):{_err_text(call['construct_error'])}")
        x = xs[case["input"]]
        _run_result(call, "forward", label)
        out = _tensor(call["out"], arrays, "forward", what, shape=(x.shape[0], case["output_dim"]))
        if not _unchanged(call, x):
            raise Failed("forward_modifies_input", f"{what} 修改了输入张量 x。")
        if call.get("params_error") or not call.get("params"):
            raise Failed("forward_layers_missing", f"{what}:读不到网络的层(input_layer / layers / output_layer):"
                         f"{call.get('params_error', '')}")
        h = x.double()
        params = call["params"]
        for index, (layer, weight, bias) in enumerate(params):
            w = _tensor(weight, arrays, "forward", f"{layer}.weight")
            no_bias = isinstance(bias, dict) and bias.get("type") == "builtins.NoneType"
            b = None if no_bias else _tensor(bias, arrays, "forward", f"{layer}.bias")
            h = torch.nn.functional.linear(h, w, b)
            if index < len(params) - 1:
                h = REF_VALUE[name](h)
        try:
            _compare(say, "forward", "forward_mismatch", f"{what} [num_layers={case['num_layers']}]", out, h)
        except Failed as failure:
            raise Failed(failure.mistake, f"{failure.message}\n应该是:输入层 → 激活 → 每个隐藏层后都接激活 → 输出层"
                                          f"(输出层后不接激活),激活函数用 self.activation。") from None
        if not call.get("activation_calls"):
            raise Failed("forward_no_self_activation", f"{what} 没有调用 self.activation。请使用构造函数里选好的激活函数。")


def judge_l2_value(plan_, meta, arrays, say):
    what = "l2_penalty(w)"
    xs = inputs_of(plan_)
    _warnings(say, meta["calls"])
    for case, call in zip(plan_["cases"], meta["calls"], strict=True):
        w = xs[case["args"][0]["input"]]
        _run_result(call, "l2", what)
        out = _tensor(call["out"], arrays, "l2", what)
        if out.numel() != 1:
            raise Failed("l2_not_scalar", f"{what} 应返回一个标量(所有元素的平方和除以 2),实际形状为 {tuple(out.shape)}。")
        if not _unchanged(call, w):
            raise Failed("l2_modifies_input", f"{what} 修改了权重 w。惩罚项只应读取 w。")
        want = (w.double() ** 2).sum().item() / 2
        got = out.reshape(-1)[0].item()
        rel = abs(got - want) / max(abs(want), 1e-12)
        say(f"{what} [形状 {tuple(w.shape)}]: 你的结果 {got:.6g},参考值 ‖w‖²/2 = {want:.6g},相对误差 {rel:.1e}")
        if not rel <= 1e-5:
            l1 = w.double().abs().sum().item()
            norm = (2 * want) ** 0.5
            n = w.numel()
            known = ((2 * want, "l2_missing_half", "忘了除以 2"), (want / n, "l2_mean_not_sum", "用了平均而不是求和"),
                     (2 * want / n, "l2_mean_not_sum", "用了平均而不是求和"),
                     (norm, "l2_norm_not_squared", "用了范数 ‖w‖ 而不是范数的平方"),
                     (norm / 2, "l2_norm_not_squared", "用了范数 ‖w‖ 而不是范数的平方"),
                     (l1, "l2_l1", "写成了 L1(绝对值之和)"), (l1 / 2, "l2_l1", "写成了 L1(绝对值之和)"))
            hit = next(((m, h) for value, m, h in known if abs(got - value) <= 1e-5 * max(abs(value), 1e-12)), None)
            raise Failed(hit[0] if hit else "l2_value_mismatch",
                         f"{what} 的值不对:你的结果 {got:.6g},应为 sum(w²)/2 = {want:.6g}(相对误差 {rel:.1e})"
                         + (f"。看起来是{hit[1]}" if hit else "") + "。")


def judge_l2_grad(plan_, meta, arrays, say):
    what = "l2_penalty(w)"
    xs = inputs_of(plan_)
    _warnings(say, meta["calls"])
    for case, call in zip(plan_["cases"], meta["calls"], strict=True):
        w = xs[case["args"][0]["input"]]
        _run_result(call, "l2", what)
        _tensor(call["out"], arrays, "l2", what)
        if not call["out"].get("requires_grad"):
            raise Failed("l2_cut_from_graph", f"{what} 的结果脱离了计算图(requires_grad=False),正则项就不会影响训练。"
                         "不要用 .item()、float()、.detach()、torch.tensor(...) 或 numpy 计算惩罚项。")
        if call.get("backward_error"):
            raise Failed("l2_runtime_error", f"对 {what} 反向传播时出错:{call['backward_error']}")
        if not call.get("grad"):
            raise Failed("l2_no_gradient", f"{what} 对 w 求导得不到梯度:结果没有连到 w 上。")
        grad = _tensor(call["grad"], arrays, "l2", "∂ l2_penalty / ∂w", like=w)
        max_abs, _, has_nan = _errors(grad, w)
        say(f"∂ l2_penalty / ∂w 与 w 的最大绝对误差 [形状 {tuple(w.shape)}]: {max_abs:.2e}")
        if has_nan or not max_abs <= 1e-5 * max(1.0, w.double().abs().max().item()):
            raise Failed("l2_grad_mismatch",
                         f"{what} 的梯度应等于 w 本身(这正是「权重衰减」的来源),最大绝对误差却为 {max_abs:.2e}。")


def _dropout_out(call, arrays, X, p):
    what = f"dropout_layer(X, {p})"
    _run_result(call, "dropout", what)
    out = _tensor(call["out"], arrays, "dropout", what, like=X)
    if not _unchanged(call, X):
        raise Failed("dropout_modifies_input", f"{what} 修改了输入 X(原地操作,例如 X *= mask 或 X[mask] = 0)。"
                     "请返回新的张量,保持 X 不变。")
    return out, what


def _keep_stats(out, X, p):
    kept = out != 0
    keep_rate = kept.double().mean().item()
    ratio = out.double() / X.double()
    scale_err = (ratio[kept] - 1.0 / (1.0 - p)).abs().max().item() if keep_rate > 0 else 0.0
    return kept, keep_rate, (scale_err if scale_err == scale_err else math.inf)


def _dropout_calls(plan_, meta, arrays, say):
    xs = inputs_of(plan_)
    _warnings(say, meta["calls"])
    for case, call in zip(plan_["cases"], meta["calls"], strict=True):
        X, p = xs[case["args"][0]["input"]], case["args"][1]["value"]
        out, what = _dropout_out(call, arrays, X, p)
        yield X, p, out, what


def judge_dropout_edges(plan_, meta, arrays, say):
    for X, p, out, what in _dropout_calls(plan_, meta, arrays, say):
        if p == 0.0:
            max_abs, _, has_nan = _errors(out, X)
            say(f"{what}: 与 X 的最大绝对误差 {max_abs:.2e}")
            if max_abs != 0.0 or has_nan:
                raise Failed("dropout_p0_changes_x", f"{what} 应原样返回 X(一个元素都不丢弃),实际与 X 的最大差为 {max_abs:.3g}。")
        else:
            kept = (out != 0).double().mean().item()
            say(f"{what}: 非零元素比例 {kept:.2%}")
            if kept != 0.0:
                raise Failed("dropout_p1_keeps", f"{what} 应返回全 0 张量(全部丢弃),实际有 {kept:.2%} 的元素非零。")


def judge_dropout_stats(plan_, meta, arrays, say):
    for X, p, out, what in _dropout_calls(plan_, meta, arrays, say):
        kept, keep_rate, scale_err = _keep_stats(out, X, p)
        say(f"{what} [{_dtype_name(X)}]: 保留率 {keep_rate:.4f}(应约为 1-p = {1 - p:.2f}),"
            f"保留元素的缩放误差 {scale_err:.1e}(应乘以 1/(1-p) = {1 / (1 - p):.4f})")
        if abs(keep_rate - (1 - p)) > 0.01:
            mistake, hint = "dropout_keep_rate", ""
            if abs(keep_rate - p) <= 0.01:
                mistake, hint = "dropout_keeps_with_p", "看起来是以概率 p 保留、以 1-p 丢弃,方向反了:掩码应为 rand > p。"
            elif p == 0.5 and abs(keep_rate - 0.3085) < 0.02:
                mistake, hint = "dropout_randn_mask", "看起来用了 torch.randn(正态分布);掩码要用 [0,1) 均匀分布的 torch.rand。"
            raise Failed(mistake, f"{what} 的保留率为 {keep_rate:.4f},应约为 1-p = {1 - p:.2f}。{hint}")
        if scale_err > 1e-4:
            mistake, ratio_hint = "dropout_rescale", ""
            if keep_rate > 0:
                r = (out.double() / X.double())[kept].mean().item()
                ratio_hint = f"保留下来的元素被乘了约 {r:.4f}"
                if abs(r - 1.0) < 1e-3:
                    mistake, ratio_hint = "dropout_no_rescale", ratio_hint + "(没有缩放)"
                elif abs(r - 1.0 / p) < 1e-3:
                    mistake, ratio_hint = "dropout_rescale_by_p", ratio_hint + "(除以了 p)"
            raise Failed(mistake, f"{what}:保留下来的元素应乘以 1/(1-p) = {1 / (1 - p):.4f},使输出的期望等于输入;"
                         f"{ratio_hint},最大误差 {scale_err:.2e}。")


def judge_dropout_mask(plan_, meta, arrays, say):
    results = list(_dropout_calls(plan_, meta, arrays, say))
    (_, _, out1, what), (_, _, out2, _) = results[0], results[-1]  # the same X and p, twice
    m1, m2 = out1 != 0, out2 != 0
    same = (m1 == m2).double().mean().item()
    say(f"两次调用 {what} 的掩码相同的比例: {same:.2%}(独立的掩码约为 50%)")
    if same > 0.9:
        raise Failed("dropout_same_mask", f"两次调用 {what} 得到了(几乎)相同的掩码({same:.2%} 相同)。"
                     "每次调用都要生成新的随机掩码,"
                     "不要在函数里设置随机种子或复用同一个掩码。")
    rows = (m1.all(1) | (~m1).all(1)).double().mean().item()
    cols = (m1.all(0) | (~m1).all(0)).double().mean().item()
    say(f"整行全部保留或全部丢弃的比例: {rows:.2%};整列: {cols:.2%}(逐元素独立时都应约为 0%)")
    if rows > 0.05 or cols > 0.05:
        raise Failed("dropout_mask_not_elementwise",
                     f"{what} 的掩码不是逐元素独立的:{rows:.0%} 的行、{cols:.0%} 的列被整行/整列保留或丢弃。"
                     "掩码的形状要与 X 完全相同,例如 torch.rand(X.shape)。")
    for Xs, p, out, w in results[1:-1]:
        _, keep_rate, scale_err = _keep_stats(out, Xs, p)
        shape = tuple(Xs.shape)
        say(f"{w} [形状 {shape}]: 保留率 {keep_rate:.3f},缩放误差 {scale_err:.1e}")
        if abs(keep_rate - 0.7) > 0.05 or scale_err > 1e-4:
            raise Failed("dropout_shape", f"{w} 对形状为 {shape} 的输入不正确:保留率 {keep_rate:.3f}(应约为 0.7),"
                                          f"缩放误差 {scale_err:.1e}。")


JUDGES = {
    **{f"{n}_value": (lambda *a, n=n: judge_value(n, *a)) for n in CN},
    **{f"{n}_derivative": (lambda *a, n=n: judge_derivative(n, *a)) for n in CN},
    **{f"forward_{n}": (lambda *a, n=n: judge_forward(n, *a)) for n in CN},
    "l2_value": judge_l2_value, "l2_grad": judge_l2_grad,
    "dropout_edges": judge_dropout_edges, "dropout_stats": judge_dropout_stats, "dropout_mask": judge_dropout_mask,
}


def judge(grade_id, plan_, message, kernel_error=None):
    """The verdict on one hidden test from the probe's message (None when none came out of the kernel)."""
    say = _Report()
    if message is None:
        why = f"(内核里的错误:{kernel_error})" if kernel_error else ""
        return Verdict(False, say.lines, "no_probe_data",
                       f"评分程序没有从内核收到这个测试的数据{why}。请确认上面定义这部分代码的单元能正常运行,且没有改动评分用的内核。")
    try:
        meta, arrays = decode(message)
        if meta.get("token") != plan_["token"] or meta.get("grade_id") != grade_id:
            raise BadData("data for another test")
        JUDGES[grade_id](plan_, meta, arrays, say)
    except Failed as failure:
        return Verdict(False, say.lines, failure.mistake, failure.message)
    except (BadData, KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as err:
        return Verdict(False, say.lines, "probe_data_invalid",
                       f"从内核收到的评分数据不完整或格式不对({type(err).__name__}: {str(err)[:200]}),这个测试不得分。"
                       "如果你没有改动评分用的内核,请联系助教。")
    return Verdict(True, say.lines)


def check_here(grade_id, objects, seed=2024):
    """The hidden test judged in this process (nbgrader validate on the master, benchmarks/whole_lab.py):
    the same plan, probe, message and judgement as autograde, without the kernel boundary."""
    plan_ = plan(grade_id, seed, token="local")
    verdict = judge(grade_id, plan_, lab2_probe.encode(*lab2_probe.collect(plan_, objects)))
    for line in verdict.lines:
        print(line)
    if not verdict.passed:
        raise AssertionError(verdict.message)


# ---------------------------------------------------------------- the submitted source overrules the data
WHAT = {"relu": "MyReLU", "sigmoid": "MySigmoid", "tanh": "MyTanh", "dropout": "dropout_layer"}


def overrule(grade_id, cell_index, verdict, findings):
    """The verdict once the submitted source (grading/source_rules.py, read outside the kernel) is taken into
    account: tampering with the kernel in a cell before this test, a clear use of the part's library op, or
    autograd in a derivative fail the test whatever the data said. The compared numbers stay."""
    part = _part(grade_id)
    tampering = [f for f in findings if f.kind == "tampering" and f.cell < cell_index]
    if tampering:
        first, more = tampering[0], len(tampering) - 1
        return Verdict(False, verdict.lines, "kernel_tampering",
                       f"这个测试不计分:{first.where}{first.what}:`{first.code}`。改动评分内核之后运行的测试都无法被信任,"
                       f"得 0 分(在它之前运行的测试不受影响)。" + (f"另有 {more} 处类似代码。" if more else "")
                       + "请删掉这段代码后重新提交;如果你认为这是误判,请联系助教。")
    library = [f for f in findings if f.kind == "library_op" and f.part == part]
    if library:
        used = ", ".join(dict.fromkeys(f"{f.rule}({f.where})" for f in library))
        return Verdict(False, verdict.lines, f"{part}_library_op", library_message(part, WHAT[part], used))
    autograd = [f for f in findings if f.kind == "autograd" and f.part == part]
    if autograd and grade_id.endswith("_derivative"):
        used = ", ".join(dict.fromkeys(f"{f.rule}({f.where})" for f in autograd))
        return Verdict(False, verdict.lines, f"{part}_autograd", autograd_message(f"My{CN[part]}.derivative", used))
    return verdict
