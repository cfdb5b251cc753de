"""实验二隐藏测试的检查函数(只在 nbgrader validate / autograde 时使用,不随发布版分发给学生)。

nbgrader_config.py 让评分内核在启动时(任何学生代码运行之前)导入本模块,所以这里保存的
torch / builtins 引用都是原始的:学生代码事后替换 torch.allclose、numpy、math.isclose、
builtins.all / abs / max,或返回"比较永远相等"的对象,都影响不到这里的判断。

每个 check_* 函数检查一个评分点:通过时打印比较过的量,不通过时抛出 AssertionError,
消息用中文说明错在哪里、比较的数值是多少。
"""
import builtins as _builtins
import sys as _sys
import warnings as _warnings

import torch as _torch
from torch.overrides import TorchFunctionMode as _TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode as _TorchDispatchMode

# ---------------------------------------------------------------- 原始引用(导入时保存)
_type, _isinstance, _len, _float, _bool = type, isinstance, len, float, bool
_abs, _max, _min, _print, _repr, _str = abs, max, min, print, repr, str
_range, _getattr, _callable, _Exception = range, getattr, callable, Exception
_AssertionError, _NotImplementedError = AssertionError, NotImplementedError
_Tensor = _torch.Tensor
_TB = _torch._C.TensorBase.__dict__
_VF = _torch._C._VariableFunctions
_f32, _f64, _cpu = _torch.float32, _torch.float64, _torch.device("cpu")
_dtype_t, _Generator, _no_grad, _enable_grad = _torch.dtype, _torch.Generator, _torch.no_grad, _torch.enable_grad


def _attr(name):
    return _TB[name].__get__ if _type(_TB[name]).__name__ == "getset_descriptor" else _TB[name]


_dtype_of, _shape_of, _device_of = _attr("dtype"), _attr("shape"), _attr("device")
_requires_grad_of, _grad_of, _is_floating = _attr("requires_grad"), _attr("grad"), _TB["is_floating_point"]
_detach, _clone, _to, _item, _numel, _dim = (_TB[n] for n in ("detach", "clone", "to", "item", "numel", "dim"))
_sub, _mul, _div, _add, _abs_t, _amax, _ne, _eq, _gt = (_TB[n] for n in ("sub", "mul", "div", "add", "abs", "amax", "ne", "eq", "gt"))
_sum, _mean, _double, _reshape, _requires_grad_ = (_TB[n] for n in ("sum", "mean", "double", "reshape", "requires_grad_"))
_any, _all, _isnan, _logical_or = (_TB[n] for n in ("any", "all", "isnan", "logical_or"))
_backward = _torch.autograd.backward

# 学生在各部分不得直接调用的库函数。函数层(TorchFunctionMode)看 torch/nn/functional/Tensor
# 方法的名字,算子层(TorchDispatchMode)看最终执行的 aten 算子,两层一起才不漏掉别名。
_FORBIDDEN = {
    "relu": {"func": {"relu", "relu_", "threshold", "threshold_", "leaky_relu", "leaky_relu_", "rrelu", "prelu"},
             "aten": {"relu", "relu_", "threshold", "threshold_", "threshold_backward", "leaky_relu",
                      "leaky_relu_backward", "_prelu_kernel", "prelu"}},
    "sigmoid": {"func": {"sigmoid", "sigmoid_", "expit", "special_expit", "logsigmoid"},
                "aten": {"sigmoid", "sigmoid_", "sigmoid_backward", "log_sigmoid_forward"}},
    "tanh": {"func": {"tanh", "tanh_"}, "aten": {"tanh", "tanh_", "tanh_backward"}},
    "dropout": {"func": {"dropout", "dropout_", "dropout1d", "dropout2d", "dropout3d", "feature_dropout",
                         "feature_dropout_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout",
                         "native_dropout"},
                "aten": {"native_dropout", "_fused_dropout", "dropout", "feature_dropout"}},
}
_AUTOGRAD_FUNCS = {"backward", "grad", "vjp", "jvp", "jacobian", "hessian", "vmap"}
_LIB_NAMES = {"relu": "torch.relu / nn.ReLU / F.relu / Tensor.relu",
              "sigmoid": "torch.sigmoid / nn.Sigmoid / F.sigmoid / Tensor.sigmoid",
              "tanh": "torch.tanh / nn.Tanh / F.tanh / Tensor.tanh",
              "dropout": "F.dropout / nn.Dropout / torch.dropout"}


class _FuncRecorder(_TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.add(_getattr(func, "__name__", ""))
        return func(*args, **(kwargs or {}))


class _AtenRecorder(_TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(func._schema.name.split("::")[-1])
        return func(*args, **(kwargs or {}))


class _QuietStderr:
    """学生代码运行期间,把警告和 stderr 转到 stdout:正确代码的警告不能让测试单元得 0 分。"""

    def __enter__(self):
        self._stderr = _sys.stderr
        _sys.stderr = _sys.stdout
        self._warn = _warnings.catch_warnings(record=True)
        self.caught = self._warn.__enter__()
        _warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._warn.__exit__(*exc)
        _sys.stderr = self._stderr
        for w in self.caught:
            _print(f"(提示)你的代码产生了警告,不扣分:{w.category.__name__}: {w.message}")
        return False


def _fail(msg):
    raise _AssertionError(msg)


def _call(part, what, fn, *args, autograd_ok=True):
    """运行学生函数并记录它调用的库函数;返回 (结果, 记录到的函数名, aten 算子名)。"""
    frec, arec = _FuncRecorder(), _AtenRecorder()
    with _QuietStderr():
        try:
            with frec, arec:
                out = fn(*args)
        except _NotImplementedError:
            _fail(f"{what} 还没有实现(抛出了 NotImplementedError)。请完成对应的 TODO 单元并重新运行它。")
        except _AssertionError:
            raise
        except _Exception as e:
            _fail(f"{what} 运行时出错:{_type(e).__name__}: {e}")
    rule = _FORBIDDEN.get(part)
    if rule:
        used = sorted((frec.names & rule["func"]) | (arec.names & rule["aten"]))
        if used:
            _fail(f"{what} 调用了库里现成的实现({', '.join(used)})。本实验要求自己实现:"
                  f"在这一部分里不能使用 {_LIB_NAMES[part]},"
                  f"但可以用 exp、maximum、where、clamp、rand、bernoulli 等通用运算。这一部分不得分。")
    if not autograd_ok:
        used = sorted(frec.names & _AUTOGRAD_FUNCS) + sorted(n for n in arec.names if n.endswith("_backward"))
        if used:
            _fail(f"{what} 用自动求导求出了导数({', '.join(used)})。请按公式手写导数,不要调用 backward / autograd。")
    return out


def _need_tensor(what, out, like=None, shape=None):
    if _type(out) is not _Tensor:
        _fail(f"{what} 应返回 torch.Tensor,实际返回的是 {_type(out).__module__}.{_type(out).__qualname__}。")
    if like is not None:
        if _tuple(_shape_of(out)) != _tuple(_shape_of(like)):
            _fail(f"{what} 的形状应与输入相同 {_tuple(_shape_of(like))},实际为 {_tuple(_shape_of(out))}。")
    if not _is_floating(out):
        _fail(f"{what} 应返回浮点张量,实际 dtype 为 {_dtype_of(out)}。"
              "提示:比较运算得到的是布尔张量,需要转成浮点,例如 .to(x.dtype)。")
    if shape is not None and _tuple(_shape_of(out)) != shape:
        _fail(f"{what} 的形状应为 {shape},实际为 {_tuple(_shape_of(out))}。")
    return out


def _tuple(size):
    return _builtins.tuple(size)


def _errors(out, ref):
    """(最大绝对误差, 最大相对误差, 是否有 NaN),全部在 float64 里计算。"""
    a, b = _double(_detach(out)), _double(_detach(ref))
    diff = _abs_t(_sub(a, b))
    if _numel(diff) == 0:
        return 0.0, 0.0, False
    rel = _div(diff, _VF.clamp_min(_add(_abs_t(a), _abs_t(b)), 1e-12))
    return _item(_amax(diff)), _item(_amax(rel)), _bool(_item(_any(_isnan(a))))


def _compare(what, out, ref, x=None, atol=1e-5, rtol=1e-4):
    max_abs, max_rel, has_nan = _errors(out, ref)
    ok_tensor = _abs_t(_sub(_double(_detach(out)), _double(_detach(ref))))
    tol = _add(_mul(_abs_t(_double(_detach(ref))), rtol), atol)
    bad = _logical_or(_gt(ok_tensor, tol), _isnan(_double(_detach(out))))
    _print(f"{what}: 最大绝对误差 {max_abs:.2e},最大相对误差 {max_rel:.2e}")
    if _bool(_item(_any(bad))):
        where = ""
        if x is not None:
            i = _item(_VF.argmax(_double(_reshape(_VF.where(bad, _add(ok_tensor, 1.0), _VF.zeros_like(ok_tensor)), (-1,)))))
            xi = _item(_reshape(_detach(x), (-1,))[i])
            where = (f";例如 x = {xi:.4g} 处,你的结果 {_item(_reshape(_detach(out), (-1,))[i]):.6g},"
                     f"参考值 {_item(_reshape(_detach(ref), (-1,))[i]):.6g}")
        _fail(f"{what} 与参考实现不一致:最大绝对误差 {max_abs:.2e}(允许 {atol:g} + {rtol:g}×|参考值|)"
              + (",结果里有 NaN" if has_nan else "") + where + "。")


def _inputs(dtype=_f32, lo=-20.0, hi=20.0):
    """评分范围内的输入:均匀网格、0 附近的小数、随机数,以及恰好为 0 的点。"""
    g = _Generator().manual_seed(2024)
    grid = _VF.linspace(lo, hi, 2001, dtype=dtype)
    small = _VF.linspace(-1e-3, 1e-3, 201, dtype=dtype)
    rnd = _mul(_VF.randn((4096,), generator=g, dtype=dtype), 4.0)
    edges = _torch.tensor([0.0, -0.0, 1.0, -1.0, lo, hi], dtype=dtype)
    return _VF.cat([edges, grid, small, _VF.clamp(rnd, lo, hi)])[:6300]  # 6300 = 60 × 105


_REF_VALUE = {"relu": _VF.relu, "sigmoid": _VF.sigmoid, "tanh": _VF.tanh}


def _ref_derivative(name, x):
    x = _double(x)
    if name == "relu":
        return _double(_gt(x, 0.0))
    if name == "sigmoid":
        s = _VF.sigmoid(x)
        return _mul(s, _sub(_VF.ones_like(s), s))
    t = _VF.tanh(x)
    return _sub(_VF.ones_like(t), _mul(t, t))


_CN = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def _instance(name, cls):
    if not _callable(cls):
        _fail(f"My{_CN[name]} 应是一个类,实际是 {_type(cls).__name__}。")
    with _QuietStderr():
        try:
            return cls()
        except _Exception as e:
            _fail(f"无法创建 My{_CN[name]}():{_type(e).__name__}: {e}")


def _overflow_hint(name, fn, what):
    """评分范围之外(|x| 很大时 e^x 溢出)只提示,不扣分。"""
    if name == "relu":
        return
    x = _torch.tensor([-100.0, -90.0, 90.0, 100.0])
    try:
        with _QuietStderr(), _no_grad():
            out = fn(x)
        bad = _type(out) is _Tensor and _bool(_item(_any(_logical_or(_isnan(out), _VF.isinf(out)))))
    except _Exception:
        bad = True
    if bad:
        _print(f"(提示,不扣分){what} 在 |x| ≥ 90 时得到 NaN/inf:float32 的 e^x 在 x > 88.7 时溢出。"
               f"数值稳定的写法例如按 x 的正负分别计算,或用 e^(-|x|) 改写公式。")


def check_value(name, cls):
    """检查 My{ReLU,Sigmoid,Tanh}.__call__ 的函数值:float32/float64、形状、不改输入、与 torch 一致。"""
    act = _instance(name, cls)
    what = f"My{_CN[name]}.__call__"
    for dtype in (_f32, _f64):
        for shape in ((6300,), (60, 105), (3, 20, 105)):
            x = _reshape(_inputs(dtype), shape)
            before = _clone(x)
            out = _need_tensor(what, _call(name, what, act, x), like=x)
            if not _bool(_item(_all(_eq(before, x)))):
                _fail(f"{what} 修改了输入张量 x(原地操作)。激活函数不应改变它的输入,请用不带下划线的运算。")
            with _no_grad():
                _compare(f"{what} [{_str(dtype).replace('torch.', '')}, 形状 {_tuple(_shape_of(x))}]",
                         out, _REF_VALUE[name](_double(x)), x)
    _overflow_hint(name, act, what)


def check_derivative(name, cls):
    """检查 derivative:浮点 dtype、x=0 处的精确值、与 torch 自动求导的导数一致、不能用 autograd。"""
    act = _instance(name, cls)
    what = f"My{_CN[name]}.derivative"
    deriv = _getattr(act, "derivative", None)
    if not _callable(deriv):
        _fail(f"My{_CN[name]} 缺少 derivative 方法。")
    for dtype in (_f32, _f64):
        x = _inputs(dtype)
        before = _clone(x)
        out = _need_tensor(what, _call(name, what, deriv, x, autograd_ok=False), like=x)
        if not _bool(_item(_all(_eq(before, x)))):
            _fail(f"{what} 修改了输入张量 x(原地操作)。请用不带下划线的运算。")
        with _no_grad():
            _compare(f"{what} [{_str(dtype).replace('torch.', '')}]", out, _ref_derivative(name, x), x)
    zero = _VF.zeros((3,))
    out0 = _call(name, what, deriv, zero, autograd_ok=False)
    expect0 = {"relu": 0.0, "sigmoid": 0.25, "tanh": 1.0}[name]
    got0 = [_float(_item(v)) for v in _detach(out0)]
    _print(f"{what}(0) = {got0[0]:g}(应为 {expect0:g})")
    if _max(_abs(v - expect0) for v in got0) > 1e-6:
        _fail(f"{what} 在 x = 0 处应为 {expect0:g}(与 PyTorch 的约定一致),实际为 {got0[0]:g}。"
              + ("提示:ReLU 的导数在 x > 0 时为 1,x ≤ 0 时为 0。" if name == "relu" else ""))
    _overflow_hint(name, deriv, what)


# ---------------------------------------------------------------- Network.forward
class _RefAct:
    """参考激活函数(torch 自带实现),替换学生的 self.activation,让 forward 的评分只看 forward。"""

    def __init__(self, name):
        self.fn, self.calls = _REF_VALUE[name], 0

    def __call__(self, x):
        self.calls += 1
        return self.fn(x)


def check_forward(name, Network):
    what = f"Network.forward(activation_name='{name}')"
    for num_layers, in_dim, out_dim, batch in ((3, 12, 5, 7), (1, 9, 4, 3), (0, 6, 3, 2)):
        _torch.manual_seed(1000 + num_layers)  # the same layers every time
        with _QuietStderr():
            try:
                net = Network(input_dim=in_dim, output_dim=out_dim, activation_name=name, num_layers=num_layers)
            except _Exception as e:
                _fail(f"无法创建 Network(...):{_type(e).__name__}: {e}")
        ref_act = _RefAct(name)
        net.activation = ref_act
        x = _VF.randn((batch, in_dim), generator=_Generator().manual_seed(7 + num_layers))
        before = _clone(x)
        with _no_grad():
            out = _need_tensor(what, _call("forward", f"{what}[num_layers={num_layers}]", net, x),
                               shape=(batch, out_dim))
            h = ref_act.fn(net.input_layer(x))
            for layer in net.layers:
                h = ref_act.fn(layer(h))
            expected = net.output_layer(h)
        if not _bool(_item(_all(_eq(before, x)))):
            _fail(f"{what} 修改了输入张量 x。")
        try:
            _compare(f"{what} [num_layers={num_layers}]", out, expected)
        except _AssertionError as e:
            _fail(f"{e}\n应该是:输入层 → 激活 → 每个隐藏层后都接激活 → 输出层(输出层后不接激活),"
                  f"激活函数用 self.activation。")
        if ref_act.calls == 0:
            _fail(f"{what} 没有调用 self.activation。请使用构造函数里选好的激活函数。")


# ---------------------------------------------------------------- l2_penalty
def _l2_inputs():
    g = _Generator().manual_seed(31)
    return [_VF.randn(s, generator=g, dtype=d) for s, d in
            (((200, 1), _f32), ((1, 200), _f32), ((5,), _f32), ((3, 4), _f64), ((2, 3, 4), _f32), ((10, 10), _f64))]


def check_l2_value(l2_penalty):
    what = "l2_penalty(w)"
    for w in _l2_inputs():
        before = _clone(w)
        out = _need_tensor(what, _call("l2", what, l2_penalty, w))
        if _numel(out) != 1:
            _fail(f"{what} 应返回一个标量(所有元素的平方和除以 2),实际形状为 {_tuple(_shape_of(out))}。")
        if not _bool(_item(_all(_eq(before, w)))):
            _fail(f"{what} 修改了权重 w。惩罚项只应读取 w。")
        ref = _div(_sum(_mul(_double(w), _double(w))), 2.0)
        got, want = _float(_item(_double(_detach(out)))), _float(_item(ref))
        rel = _abs(got - want) / _max(_abs(want), 1e-12)
        _print(f"{what} [形状 {_tuple(_shape_of(w))}]: 你的结果 {got:.6g},参考值 ‖w‖²/2 = {want:.6g},相对误差 {rel:.1e}")
        if rel > 1e-5:
            hints = []
            n = _numel(w)
            l1 = _float(_item(_sum(_abs_t(_double(w)))))
            norm = want and (2 * want) ** 0.5
            for value, hint in ((2 * want, "忘了除以 2"), (want / n, "用了平均而不是求和"),
                                (2 * want / n, "用了平均而不是求和"), (norm, "用了范数 ‖w‖ 而不是范数的平方"),
                                (norm / 2, "用了范数 ‖w‖ 而不是范数的平方"), (l1, "写成了 L1(绝对值之和)"),
                                (l1 / 2, "写成了 L1(绝对值之和)")):
                if _abs(got - value) <= 1e-5 * _max(_abs(value), 1e-12):
                    hints.append(hint)
            _fail(f"{what} 的值不对:你的结果 {got:.6g},应为 sum(w²)/2 = {want:.6g}(相对误差 {rel:.1e})"
                  + (f"。看起来是{hints[0]}" if hints else "") + "。")


def check_l2_grad(l2_penalty):
    what = "l2_penalty(w)"
    for w0 in _l2_inputs():
        w = _requires_grad_(_clone(w0))
        with _enable_grad():
            out = _need_tensor(what, _call("l2", what, l2_penalty, w))
            if not _requires_grad_of(out):
                _fail(f"{what} 的结果脱离了计算图(requires_grad=False),正则项就不会影响训练。"
                      "不要用 .item()、float()、.detach()、torch.tensor(...) 或 numpy 计算惩罚项。")
            with _QuietStderr():
                _backward(_sum(out))
        grad = _grad_of(w)
        if grad is None:
            _fail(f"{what} 对 w 求导得不到梯度:结果没有连到 w 上。")
        max_abs, _, _ = _errors(grad, w0)
        _print(f"∂ l2_penalty / ∂w 与 w 的最大绝对误差 [形状 {_tuple(_shape_of(w0))}]: {max_abs:.2e}")
        if max_abs > 1e-5 * _max(1.0, _float(_item(_amax(_abs_t(_double(w0)))))):
            _fail(f"{what} 的梯度应等于 w 本身(这正是「权重衰减」的来源),最大绝对误差却为 {max_abs:.2e}。")


# ---------------------------------------------------------------- dropout_layer
def _dropout_input(shape=(400, 250), dtype=_f32, seed=5):
    g = _Generator().manual_seed(seed)
    return _add(_VF.rand(shape, generator=g, dtype=dtype), 1.0)  # 元素都在 [1, 2),没有 0


def _run_dropout(dropout_layer, X, p):
    what = f"dropout_layer(X, {p})"
    before = _clone(X)
    out = _need_tensor(what, _call("dropout", what, dropout_layer, X, p), like=X)
    if not _bool(_item(_all(_eq(before, X)))):
        _fail(f"{what} 修改了输入 X(原地操作,例如 X *= mask 或 X[mask] = 0)。请返回新的张量,保持 X 不变。")
    return out, what


def check_dropout_edges(dropout_layer):
    X = _dropout_input((16, 32))
    out, what = _run_dropout(dropout_layer, X, 0.0)
    max_abs, _, _ = _errors(out, X)
    _print(f"{what}: 与 X 的最大绝对误差 {max_abs:.2e}")
    if max_abs != 0.0:
        _fail(f"{what} 应原样返回 X(一个元素都不丢弃),实际与 X 的最大差为 {max_abs:.3g}。")
    out, what = _run_dropout(dropout_layer, X, 1.0)
    kept = _float(_item(_mean(_double(_ne(out, 0.0)))))
    _print(f"{what}: 非零元素比例 {kept:.2%}")
    if kept != 0.0:
        _fail(f"{what} 应返回全 0 张量(全部丢弃),实际有 {kept:.2%} 的元素非零。")


def _keep_stats(out, X, p):
    kept_mask = _ne(out, 0.0)
    keep_rate = _float(_item(_mean(_double(kept_mask))))
    ratio = _div(_double(out), _double(X))
    scale_err = _float(_item(_amax(_abs_t(_sub(ratio[kept_mask], 1.0 / (1.0 - p)))))) if keep_rate > 0 else 0.0
    return kept_mask, keep_rate, scale_err


def check_dropout_stats(dropout_layer):
    for p in (0.2, 0.5, 0.7):
        for dtype in (_f32, _f64):
            X = _dropout_input(dtype=dtype, seed=int(p * 10))
            out, what = _run_dropout(dropout_layer, X, p)
            _, keep_rate, scale_err = _keep_stats(out, X, p)
            _print(f"{what} [{_str(dtype).replace('torch.', '')}]: 保留率 {keep_rate:.4f}(应约为 1-p = {1 - p:.2f}),"
                   f"保留元素的缩放误差 {scale_err:.1e}(应乘以 1/(1-p) = {1 / (1 - p):.4f})")
            if _abs(keep_rate - (1 - p)) > 0.01:
                hint = ""
                if _abs(keep_rate - p) <= 0.01:
                    hint = "看起来是以概率 p 保留、以 1-p 丢弃,方向反了:掩码应为 rand > p。"
                elif p == 0.5 and _abs(keep_rate - 0.3085) < 0.02:
                    hint = "看起来用了 torch.randn(正态分布);掩码要用 [0,1) 均匀分布的 torch.rand。"
                _fail(f"{what} 的保留率为 {keep_rate:.4f},应约为 1-p = {1 - p:.2f}。{hint}")
            if scale_err > 1e-4:
                ratio_hint = ""
                if keep_rate > 0:
                    kept_mask, _, _ = _keep_stats(out, X, p)
                    r = _float(_item(_mean(_div(_double(out), _double(X))[kept_mask])))
                    ratio_hint = f"保留下来的元素被乘了约 {r:.4f}"
                    if _abs(r - 1.0) < 1e-3:
                        ratio_hint += "(没有缩放)"
                    elif _abs(r - 1.0 / p) < 1e-3:
                        ratio_hint += "(除以了 p)"
                _fail(f"{what}:保留下来的元素应乘以 1/(1-p) = {1 / (1 - p):.4f},使输出的期望等于输入;"
                      f"{ratio_hint},最大误差 {scale_err:.2e}。")


def check_dropout_mask(dropout_layer):
    p = 0.5
    X = _dropout_input((400, 250))
    out1, what = _run_dropout(dropout_layer, X, p)
    out2, _ = _run_dropout(dropout_layer, X, p)
    m1, m2 = _ne(out1, 0.0), _ne(out2, 0.0)
    same = _float(_item(_mean(_double(_eq(m1, m2)))))
    _print(f"两次调用 {what} 的掩码相同的比例: {same:.2%}(独立的掩码约为 50%)")
    if same > 0.9:
        _fail(f"两次调用 {what} 得到了(几乎)相同的掩码({same:.2%} 相同)。每次调用都要生成新的随机掩码,"
              "不要在函数里设置随机种子或复用同一个掩码。")
    rows_uniform = _float(_item(_mean(_double(_logical_or(_all(m1, 1), _all(_VF.logical_not(m1), 1))))))
    cols_uniform = _float(_item(_mean(_double(_logical_or(_all(m1, 0), _all(_VF.logical_not(m1), 0))))))
    _print(f"整行全部保留或全部丢弃的比例: {rows_uniform:.2%};整列: {cols_uniform:.2%}(逐元素独立时都应约为 0%)")
    if rows_uniform > 0.05 or cols_uniform > 0.05:
        _fail(f"{what} 的掩码不是逐元素独立的:{rows_uniform:.0%} 的行、{cols_uniform:.0%} 的列被整行/整列保留或丢弃。"
              "掩码的形状要与 X 完全相同,例如 torch.rand(X.shape)。")
    for shape in ((1000,), (10, 20, 30)):
        Xs = _dropout_input(shape, dtype=_f64, seed=11)
        out, w = _run_dropout(dropout_layer, Xs, 0.3)
        _, keep_rate, scale_err = _keep_stats(out, Xs, 0.3)
        _print(f"{w} [形状 {shape}]: 保留率 {keep_rate:.3f},缩放误差 {scale_err:.1e}")
        if _abs(keep_rate - 0.7) > 0.05 or scale_err > 1e-4:
            _fail(f"{w} 对形状为 {shape} 的输入不正确:保留率 {keep_rate:.3f}(应约为 0.7),缩放误差 {scale_err:.1e}。")
