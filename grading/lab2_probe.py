"""实验二的评分探针:在学生的内核里运行,只产出数据,不做判定。

评分时(nbgrader autograde),grading/safe_execute.py 在每个测试单元之后向内核发一条请求:

    import lab2_probe
    lab2_probe.check('relu_value', MyReLU, plan='...')

plan 来自内核之外的评分进程(grading/lab2_grader.py),里面是这一次评分才生成的输入(由新的随机秘密
决定)。探针按 plan 调用学生的函数,记录它用到的 torch 函数和 aten 算子,把结果作为纯数据发回:
张量放在 npz 里(numpy 以 allow_pickle=False 读取,读取时不执行任何代码),作为 display_data 消息的二进制缓冲区
发回,其余是 JSON。
参考值、容差、分数和指出错误的中文信息都在评分进程里;内核里的一切(包括本模块)都可能被学生
代码改动,所以这里产出的只是数据,评分进程不信任它的任何行为。

没有 plan 时(教师运行 nbgrader validate,或 benchmarks/whole_lab.py),check 在本进程里调用加载探针的
程序交给它的评分函数(LOCAL_JUDGE)判定,测试不通过就抛出 AssertionError。本模块不导入评分程序。
"""
import base64 as _base64
import hashlib as _hashlib
import io as _io
import importlib.util as _importlib_util
import json as _json
import os as _os

import numpy as _np
import torch as _torch


RULES = ("recorder", "inputs")  # what the probe takes from grading/rules/ (the sandbox copies them with it)


def _load_rule(name):
    """grading/rules/<name>.py, next to this file (in the grading sandbox, a copy in the kernel's private folder): the
    recorder of what student code runs and the inputs, shared with the grader and the notebook's advice. Loaded from
    its file, not imported: nothing of the grader's is importable in the kernel."""
    path = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "rules", name + ".py")
    spec = _importlib_util.spec_from_file_location(f"lab2_{name}_for_the_probe", path)
    module = _importlib_util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_recorder, _inputs = (_load_rule(name) for name in RULES)

MIME = "application/x-lab2-probe"
MAX_MESSAGE = 300  # characters kept of a student's exception message
MAX_ELEMENTS = 1 << 22  # a result larger than this travels without its data (the largest input has 100,000)

# References taken when the kernel starts, before any student code: later patches of torch or builtins
# change nothing here (and if they did, they could only change the data, which is judged outside).
_type, _len, _str, _repr, _isinstance, _getattr, _callable = type, len, str, repr, isinstance, getattr, callable
_list, _dict, _sorted, _bool, _int, _float, _Exception = list, dict, sorted, bool, int, float, Exception
_Tensor = _torch.Tensor
_TB = _torch._C.TensorBase.__dict__
_VF = _torch._C._VariableFunctions
_detach, _clone, _contiguous, _numpy, _reshape, _requires_grad_, _cpu, _float_t, _to = (
    _TB[n] for n in ("detach", "clone", "contiguous", "numpy", "reshape", "requires_grad_", "cpu", "float", "to"))
_get = lambda name: _TB[name].__get__  # noqa: E731  (tensor properties: dtype, shape, requires_grad, grad)
_dtype_of, _shape_of, _requires_grad_of, _grad_of, _device_of = (
    _get(n) for n in ("dtype", "shape", "requires_grad", "grad", "device"))
DEVICES = ("meta", "cuda")  # where a plan may move an input: PyTorch's meta device (no data, but every device rule
# of a real accelerator: a CPU tensor mixed in fails) on any grader, CUDA where there is one (tests/test_cuda.py)
_backward = _torch.autograd.backward
_no_grad, _enable_grad, _manual_seed, _Module = _torch.no_grad, _torch.enable_grad, _torch.manual_seed, _torch.nn.Module
_ndcopy = _np.ndarray.copy  # a method of a built-in type: student code cannot replace it
_savez, _sha256 = _np.savez, _hashlib.sha256
# dtypes that travel as themselves; other floating dtypes travel as float64 (the dtype is reported as it was)
_NUMPY_OK = {_torch.float16, _torch.float32, _torch.float64, _torch.bool, _torch.uint8, _torch.int8,
             _torch.int16, _torch.int32, _torch.int64}


# ---------------------------------------------------------------- inputs, the same here and in the grader
materialize = _inputs.materialize


def digest(tensor):
    """sha256 of a tensor's bytes: the grader compares it with the input it sent (was the input changed?); "" for a
    tensor on the meta device (it has no bytes)."""
    if _device_of(tensor).type == "meta":
        return ""
    return _sha256(_numpy(_contiguous(_cpu(_detach(tensor)))).tobytes()).hexdigest()


# ---------------------------------------------------------------- what the student's code calls
class _Collector:
    """Collects the arrays of one probe result (tensors become {"type", "dtype", "shape", "array"}) and the calls
    of student code, recorded by one Recorder (grading/rules/recorder.py) for the whole plan."""

    def __init__(self, recorder):
        self.arrays, self.calls, self.recorder = {}, [], recorder

    def tensor(self, value):
        if _type(value) is not _Tensor:
            kind = _type(value)
            return {"type": f"{_getattr(kind, '__module__', '?')}.{_getattr(kind, '__qualname__', '?')}"}
        info = {"type": "torch.Tensor", "dtype": _str(_dtype_of(value)), "shape": [_int(s) for s in _shape_of(value)],
                "requires_grad": _bool(_requires_grad_of(value)), "device": _str(_device_of(value))}
        if _device_of(value).type == "meta":  # no data: its device, dtype and shape are what the grader needs
            return info
        t = _cpu(_detach(value))
        if _TB["numel"](t) > MAX_ELEMENTS:  # far more than any input: its shape says what is wrong, its data is not needed
            return info
        if _dtype_of(t) not in _NUMPY_OK:
            if not _dtype_of(t).is_floating_point:
                return info  # complex and the like: no data, the grader says which dtype it got
            t = _TB["double"](t)
        name = f"a{_len(self.arrays)}"
        # a copy, taken now: .numpy() shares the tensor's memory, which the student's later calls could rewrite
        self.arrays[name] = _ndcopy(_numpy(_contiguous(t)))
        info["array"] = name
        return info


def _call(fn, args, record):
    """Run student code under the recorder; return what happened as data (its ops are added when the plan ends)."""
    result = record.recorder.call(fn, args)
    if result["error"] is None:
        result["out"] = record.tensor(result["value"])
    record.calls.append(result)
    return result


def _on(tensor, case):
    """The input moved to the device the case names (a plan names only DEVICES), else as it is."""
    device = case.get("device")
    if device is None:
        return tensor
    if device not in DEVICES:
        raise ValueError(f"no such device in a plan: {device!r}")
    return _to(tensor, device)


def _public(result):
    """The call's data without the value itself (the call's dict stays the one the recorder's ops are added to)."""
    result.pop("value", None)
    return result


# ---------------------------------------------------------------- collectors: one per kind of check
def _activation(plan, record, cls):
    """MyReLU / MySigmoid / MyTanh: construct, then call __call__ or derivative on each case's input."""
    try:
        act = cls()
    except (_Exception, SystemExit) as err:
        return {"construct_error": {"type": _type(err).__name__, "message": _str(err)[:MAX_MESSAGE]}}
    fn = act if plan["method"] == "__call__" else _getattr(act, plan["method"], None)
    if not _callable(fn):
        return {"missing_method": True}
    inputs = {k: materialize(v) for k, v in plan["inputs"].items()}
    calls = []
    for case in plan["cases"]:
        x = _on(_reshape(_clone(inputs[case["input"]]), tuple(case["shape"])), case)
        if case.get("backward"):  # does the value carry the gradient back to x (training needs it)?
            x = _requires_grad_(_clone(x))
            with _enable_grad():
                result = _call(fn, (x,), record)
                _backward_of(result, x, record)
        else:
            result = _call(fn, (x,), record)
        result["inputs_sha"] = [digest(x)]
        calls.append(_public(result))
    return {"calls": calls}


def _backward_of(result, x, record):
    """The gradient of the call's output (summed) with respect to x, as data (the probe's backward, not the student's)."""
    out = result.get("value")
    result["backward_error"], result["grad"] = None, None
    if result["error"] is None and _type(out) is _Tensor and _requires_grad_of(out):
        try:
            _backward(_TB["sum"](out))
        except (_Exception, SystemExit) as err:
            result["backward_error"] = f"{_type(err).__name__}: {_str(err)[:MAX_MESSAGE]}"
        grad = _grad_of(x)
        result["grad"] = None if grad is None else record.tensor(grad)


def _plain(parameter):
    """A layer's nn.Parameter as the plain tensor it holds (anything else stays as it is)."""
    return _detach(parameter) if _isinstance(parameter, _Tensor) else parameter


class _CountingActivation(_Module):
    """Stands in for the student's self.activation while Network.forward is checked: forward is graded
    alone, with an activation the grader knows (the torch function the plan names). A module, so that it can
    take the place of an activation the student registered as a submodule (an nn.Module of their own)."""

    def __init__(self, op):
        _Module.__init__(self)
        self.fn, self.calls = _getattr(_VF, op), 0

    def forward(self, x):
        self.calls += 1
        return self.fn(x)


def _build(network, case, plan):
    """The student's Network, built as the notebook builds it. Where that raises, built once more with the grader's
    activation in place of the student's activation classes (the plan names them) while it is built: a MySigmoid()
    that cannot be made is the Sigmoid part's mistake, and forward is graded alone. Where that raises too, the
    first error is the one reported."""
    kwargs = {"input_dim": case["input_dim"], "output_dim": case["output_dim"], "activation_name": plan["activation"],
              "num_layers": case["num_layers"]}
    try:
        return network(**kwargs)
    except (_Exception, SystemExit) as err:
        first = err
    scope = _getattr(_getattr(network, "__init__", None), "__globals__", None)
    names = [name for name in plan.get("activation_classes", ()) if _type(scope) is _dict and name in scope]
    if not names:
        raise first
    saved = {name: scope[name] for name in names}
    try:
        for name in names:
            scope[name] = lambda op=plan["activation"]: _CountingActivation(op)
        _manual_seed(_int(case["init_seed"]))
        return network(**kwargs)
    except (_Exception, SystemExit):
        raise first from None
    finally:
        scope.update(saved)


def _network(plan, record, network):
    calls = []
    for case in plan["cases"]:
        _manual_seed(_int(case["init_seed"]))
        try:
            net = _build(network, case, plan)
            act = _CountingActivation(plan["activation"])
            net.activation = act
        except (_Exception, SystemExit) as err:
            calls.append({"construct_error": {"type": _type(err).__name__, "message": _str(err)[:MAX_MESSAGE]}})
            continue
        x = materialize(plan["inputs"][case["input"]])
        with _no_grad():
            entry = _public(_call(net, (x,), record))
        entry.update(inputs_sha=[digest(x)], activation_calls=act.calls)
        try:
            layers = [("input_layer", net.input_layer)] + [(f"layers.{i}", layer) for i, layer in enumerate(net.layers)]
            layers.append(("output_layer", net.output_layer))
            entry["params"] = [[name, record.tensor(_plain(layer.weight)), record.tensor(_plain(layer.bias))]
                               for name, layer in layers]
        except (_Exception, SystemExit) as err:
            entry["params_error"] = f"{_type(err).__name__}: {_str(err)[:MAX_MESSAGE]}"
        calls.append(entry)
    return {"calls": calls}


def _function(plan, record, fn):
    """l2_penalty / dropout_layer: call fn on each case's arguments; optionally backward through it."""
    inputs = {k: materialize(v) for k, v in plan["inputs"].items()}
    calls = []
    for case in plan["cases"]:
        args = []
        for arg in case["args"]:
            if "input" in arg:
                t = _on(_clone(inputs[arg["input"]]), case)
                args.append(_requires_grad_(t) if case.get("requires_grad") else t)
            else:
                args.append(arg["value"])
        with _enable_grad() if case.get("requires_grad") else _no_grad():
            result = _call(fn, tuple(args), record)
            if case.get("backward"):
                _backward_of(result, args[0], record)
        result["inputs_sha"] = [digest(a) for a in args if _type(a) is _Tensor]
        calls.append(_public(result))
    return {"calls": calls}


COLLECTORS = {"activation": _activation, "network": _network, "function": _function}


def collect(plan, objects):
    """Run one plan against the student's objects; return (meta, arrays), both plain data."""
    _manual_seed(_int(plan.get("rng_seed", 0)))
    with _recorder.Recorder(plan["token"]) as recorder:
        record = _Collector(recorder)
        meta = COLLECTORS[plan["collector"]](plan, record, *objects)
    for index, call in enumerate(record.calls):
        call["ops"] = recorder.ops(index)
        call.pop("value", None)
    meta.update(token=plan["token"], grade_id=plan["grade_id"])
    return meta, record.arrays


_cells = {}  # token -> (the recorder of an answer cell that is running, its call's index)


def begin_cell(token):
    """Before an answer cell runs (a request of the grader's, like check's): record everything it runs (class bodies,
    module-level helpers, default arguments, tensors built for later) until end_cell."""
    recorder = _recorder.Recorder(token)
    recorder.__enter__()
    _cells[token] = (recorder, recorder.start_cell())


def end_cell(token, grade_id):
    """After the answer cell: publish what it ran ({"cell": {"ops", "funcs"}}), as data."""
    recorder, index = _cells.pop(token)
    funcs = recorder.stop_cell()
    recorder.__exit__(None, None, None)
    meta = {"token": token, "grade_id": grade_id, "cell": {"ops": recorder.ops(index), "funcs": funcs}}
    _publish(*encode(meta, {}))


def encode(meta, arrays):
    """The probe's message: (JSON text of the meta, the arrays as an npz: numpy's own format, no pickles)."""
    buffer = _io.BytesIO()
    _savez(buffer, **arrays)  # uncompressed: 10x faster than savez_compressed for these sizes
    return _json.dumps({"meta": meta}), buffer.getvalue()


try:  # the kernel's display publisher, taken now, before student code could replace it
    from IPython import get_ipython as _get_ipython
    _display_pub = _getattr(_get_ipython(), "display_pub", None)
except ImportError:  # a plain Python process (benchmarks/whole_lab.py) never publishes
    _display_pub = None


def _publish(text, packed):
    """One display_data of MIME on the kernel's IOPub, the npz as the message's binary buffer: raw bytes on the
    socket, not base64 in JSON (which cost about 0.15 s per notebook to encode, sign and decode, for 6 MB of arrays).
    No stream is flushed first: none of a grader's request's outputs is shown (grading/safe_execute.py)."""
    pub = _display_pub
    pub.session.send(pub.pub_socket, "display_data", {"data": {MIME: text}, "metadata": {}, "transient": {}},
                     parent=pub.parent_header, ident=pub.topic, buffers=[packed])


LOCAL_JUDGE = None  # set by whoever loads the probe outside the grading sandbox (IPython's startup file,
# benchmarks/whole_lab.py): grading.lab2_grader.check_here, which judges in this process


def check(grade_id, *objects, plan=None):
    """The hidden test's one line. With a plan (autograde): collect and publish the data, judge nothing.
    Without (nbgrader validate, benchmarks): judge here, with the grader its loader gave (LOCAL_JUDGE)."""
    if plan is None:
        if LOCAL_JUDGE is None:
            raise RuntimeError("这个内核里没有评分程序:隐藏测试只能在 nbgrader validate/autograde 启动的内核里运行。")
        LOCAL_JUDGE(grade_id, objects)
        return
    plan = _json.loads(_base64.b64decode(plan))
    if plan.get("grade_id") != grade_id:
        raise ValueError("plan for another test")
    _publish(*encode(*collect(plan, objects)))
