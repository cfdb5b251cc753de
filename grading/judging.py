"""判定用的工具:各部分的声明(grading/parts/)用它们比较学生的结果并写出中文信息。

这里的一切都在内核之外的评分进程里运行,读的是已经过 lab2_grader.validate 检查的数据(结构和类型都
是探针写出的样子),所以这里抛出的任何其他异常都是评分程序自己的错误(GraderBug),不会算到学生头上。
"""
import math

import torch

from grading import lab2_probe
from grading.rules import allowlists

# The mistake ids every test can emit, declared once (grading/parts/__init__.py: shared_mistakes): a call that did
# not run, what a call returned (<part>_<this>), and the grader's own, the same for every part
RAN = ("not_implemented", "runtime_error")                  # ran_within_rules
RETURNED = ("not_a_tensor", "wrong_shape", "not_floating")  # tensor
NO_PROBE_DATA = "no_probe_data"             # no data came out of the kernel (lab2_grader.judge)
PROBE_DATA_INVALID = "probe_data_invalid"   # the data is not what the probe writes (lab2_grader.judge)
GRADING_STOPPED = "grading_stopped"         # the notebook's fault stopped grading before this test (faults.mark_unrun)
GRADER_MISTAKES = ("NO_PROBE_DATA", "PROBE_DATA_INVALID", "GRADING_STOPPED")
# and every test of a part with rules (an allowlist): what its answer cell ran while it ran
# (lab2_grader.defined_within_rules; no record of it is NO_PROBE_DATA), state from outside the call
# (read_nothing_from_outside)
WITH_RULES = ("op_at_definition", "outside_state")
# what the tests that run a call on another device or dtype declare on their Test (on_device, kept_dtype)
DEVICE, DTYPE = "device_not_kept", "dtype_not_kept"

FLOATING = {"torch.float16", "torch.bfloat16", "torch.float32", "torch.float64"}


class Failed(Exception):
    """A test cell's failure: a stable mistake id (counted in the class report) and the Chinese message."""

    def __init__(self, mistake, message):
        super().__init__(message)
        self.mistake, self.message = mistake, message


class BadData(Exception):
    """The data that came out of the kernel is not what the probe writes (only the student's code can cause it)."""


class Report:
    """What a judgement compared, one line each; shown whether the test passed or not."""

    def __init__(self):
        self.lines = []

    def __call__(self, line):
        self.lines.append(line)


def inputs_of(plan):
    """The plan's input tensors, built here exactly as the probe builds them in the kernel."""
    return {name: lab2_probe.materialize(spec) for name, spec in plan["inputs"].items()}


def err_text(error):
    return f"{error.get('type', 'Error')}: {error.get('message', '')}"


def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def ran_within_rules(call, part, what, autograd_ok=True):
    """The call ran (else: not implemented yet, or an error) and kept its part's rules (grading/rules/allowlists.py): only the
    ops its part allows, no round trip out of torch where the part forbids it, no autograd in a derivative."""
    error = call.get("error")
    if error:
        if error.get("type") == "NotImplementedError":
            raise Failed(f"{part.name}_not_implemented",
                         f"{what} 还没有实现(抛出了 NotImplementedError)。请完成对应的 TODO 单元并重新运行它。")
        raise Failed(f"{part.name}_runtime_error", f"{what} 运行时出错:{err_text(error)}")
    if part.ops is not None:
        allowed, allowed_text = allowlists.ALLOWLISTS[part.ops]
        broken = allowlists.violation(allowed, call.get("ops") or [], call.get("funcs") or {}, derivative=not autograd_ok,
                                 in_torch=part.in_torch)
        if broken:
            kind, names = broken
            raise Failed(f"{part.name}_{allowlists.MISTAKES[kind]}", allowlists.message(kind, what, names, allowed_text))
    return call


def read_nothing_from_outside(part, plan, meta):
    """After a test's judgement passed: no call of it read state from outside (a table, a cache, a stored result: a
    tensor of more than a few elements it did not compute from its inputs; grading/rules/recorder.py). Only where the
    part has rules (Network.forward reads its layers' weights)."""
    if part.ops is None:
        return
    what = part.code + (f".{plan['method']}" if plan.get("method") and plan["method"] != "__call__" else "")
    for call in meta.get("calls") or []:
        if call.get("outside"):
            raise Failed(f"{part.name}_outside_state", allowlists.outside_message(what, call["outside"]))


def on_device(case):
    """Whether a case runs on another device than the CPU (grading/lab2_probe.py: DEVICES): judged by judge_device."""
    return bool(case.get("device"))


DEVICE_ERROR = "device"  # the word in PyTorch's errors when tensors on two devices meet ("... not on the expected device")


def judge_device(compared, call, part, what, device, dtype=None, shape=None):
    """A call on an input on another device (the meta device on a CPU-only grader: no data, but a CPU tensor mixed in
    fails as on a GPU): it must return a tensor on the input's device, of its shape and (where given) of the input's
    dtype. An error that is not about devices (an op the meta device cannot run, such as .item()) decides nothing."""
    error = call.get("error")
    where = f"{what} [输入在 {device} 上]"
    about = ("(meta 是 PyTorch 的一种不存数据的设备,评分时用它代替 GPU:设备不一致的错误和在 GPU 上一样)"
             if device == "meta" else "")
    if error:
        if DEVICE_ERROR in error.get("message", ""):
            raise Failed(f"{part.name}_device_not_kept", f"{where}{about} 运行出错:{err_text(error)} "
                         "代码里有只在 CPU 上创建的张量(例如没有写 device= 的 torch.ones(x.shape)、torch.rand(X.shape)):"
                         "在 GPU 上运行实验时就会这样出错。"
                         "请用 torch.ones_like(x)、torch.rand_like(X),或者写上 device=x.device。")
        compared(f"{where}:在这个设备上无法运行({err_text(error)[:80]}),不检查设备")
        return
    info = call.get("out")
    if not isinstance(info, dict) or info.get("type") != "torch.Tensor":
        return  # what it returns is judged on the CPU
    got = info.get("device", "?")
    compared(f"{where}:结果在 {got} 上,dtype {info.get('dtype')}")
    if got.split(":")[0] != device.split(":")[0]:
        raise Failed(f"{part.name}_device_not_kept", f"{where}{about} 的结果在 {got} 上,而不是输入所在的 {device}:"
                     "在 GPU 上运行实验时,后面的运算会因为张量不在同一设备上而出错。请用 *_like 或 device=x.device 创建张量。")
    if shape is not None and tuple(info.get("shape", ())) != tuple(shape):
        raise Failed(f"{part.name}_wrong_shape", f"{where} 的形状应为 {tuple(shape)},实际为 {tuple(info.get('shape', ()))}。")
    kept_dtype(compared, info, dtype, part, where)


def kept_dtype(compared, info, dtype, part, what):
    """A float32 input must give a float32 result: the network after it (float32 weights) fails on anything else.
    A float64 input that gives float32 is only a hint (it loses precision, and breaks nothing in the lab)."""
    if dtype is None:
        return
    want, got = str(dtype), info.get("dtype")
    if got == want:
        return
    if want == "torch.float32":
        raise Failed(f"{part.name}_dtype_not_kept", f"{what} 的输入是 float32,结果却是 {str(got).replace('torch.', '')}:"
                     "网络里它后面的一层(float32 的权重)会因为 dtype 不一致而报错。请让结果保持输入的 dtype,例如 .to(x.dtype),"
                     "不要用 .double() 或 float64 的常量张量。")
    compared(f"(提示,不扣分){what} 的输入是 {want.replace('torch.', '')},结果却是 {str(got).replace('torch.', '')}:"
             "精度降低了;保持输入的 dtype 可以写 .to(x.dtype)。")


def tensor(info, arrays, part, what, like=None, shape=None):
    """The tensor a call returned, checked as the old in-kernel checks did (type, shape, floating)."""
    if not isinstance(info, dict) or info.get("type") != "torch.Tensor":
        got = info.get("type", "?") if isinstance(info, dict) else "?"
        raise Failed(f"{part}_not_a_tensor", f"{what} 应返回 torch.Tensor,实际返回的是 {got}。")
    got_shape = tuple(info["shape"])
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


def unchanged(call, *inputs):
    """Whether the call left its tensor inputs as they were (the probe hashed them after the call)."""
    return list(call.get("inputs_sha") or []) == [lab2_probe.digest(t) for t in inputs]


def errors(out, ref):
    """(max abs error, max rel error, NaN in out), in float64."""
    a, b = out.double(), ref.double()
    diff = (a - b).abs()
    if diff.numel() == 0:
        return 0.0, 0.0, False
    rel = diff / (a.abs() + b.abs()).clamp_min(1e-12)
    return diff.max().item(), rel.max().item(), bool(a.isnan().any().item())


def compare(compared, mistake, what, out, ref, x=None, atol=1e-5, rtol=1e-4):
    """Fail with `mistake` where out and ref differ beyond atol + rtol × |ref|, naming one such x."""
    max_abs, max_rel, has_nan = errors(out, ref)
    diff = (out.double() - ref.double()).abs()
    bad = (diff > ref.double().abs() * rtol + atol) | out.double().isnan()
    compared(f"{what}: 最大绝对误差 {max_abs:.2e},最大相对误差 {max_rel:.2e}")
    if bad.any():
        where = ""
        if x is not None:
            i = int(torch.where(bad, diff.nan_to_num(1e300) + 1.0, torch.zeros_like(diff)).reshape(-1).argmax())
            where = (f";例如 x = {x.reshape(-1)[i].item():.4g} 处,你的结果 {out.reshape(-1)[i].item():.6g},"
                     f"参考值 {ref.reshape(-1)[i].item():.6g}")
        raise Failed(mistake, f"{what} 与参考实现不一致:最大绝对误差 {max_abs:.2e}(允许 {atol:g} + {rtol:g}×|参考值|)"
                     + (",结果里有 NaN" if has_nan else "") + where + "。")


def warnings_of(compared, calls):
    """The student's warnings, shown as a hint (they cost nothing)."""
    seen = []
    for call in calls:
        for w in call.get("warnings") or []:
            if w not in seen:
                seen.append(w)
    for w in seen[:5]:
        compared(f"(提示)你的代码产生了警告,不扣分:{w}")


def finite(value):
    return value if value == value else math.inf
