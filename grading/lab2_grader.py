"""实验二隐藏测试的判定:在内核之外的评分进程里运行(grading/safe_execute.py 调用)。

每个测试单元的隐藏部分只有一行 `lab2_probe.check('<grade_id>', <学生的类或函数>)`。评分时:

1. plan(grade_id, seed):用本次评分新生成的随机秘密 seed 决定输入(学生无法事先写死答案);
2. 内核里的探针(grading/lab2_probe.py)按 plan 调用学生代码,把输出作为纯数据发回;
3. judge(grade_id, plan, message):先检查数据的结构是否是探针写出的样子(validate),再交给这个测试
   所属部分的声明(grading/parts/)去判定:用 torch 自己的实现算参考值,按容差比较,决定得分与否,
   并写出中文信息(比较过的数值、错在哪里)和稳定的错误编号(mistake id)。

内核里发生的任何事情最多只能改变发回的数据;参考值、容差、分数和信息都只在这里。
数据格式:JSON + npz(numpy.load(allow_pickle=False),读取时不执行代码;npz 是消息的二进制缓冲区),解码时检查
大小、类型和结构。
数据不对(只有学生的代码能造成)是学生的事:这个测试不得分。除此之外,判定时出的任何异常都是评分程序
自己的错误:GraderBug,这个学生的评分大声地停下(grading/safe_execute.py),绝不记成学生的 0 分。
"""
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np
import torch

from grading import judging, lab2_probe, parts
from grading.rules import allowlists
from grading.rules.finding_kinds import AFTER, DERIVATIVE, FINDING_KINDS, REVIEW
from grading.judging import BadData, Failed, Report

MAX_MESSAGE_BYTES = 64 << 20   # one probe message: its text and its npz
MAX_ARRAY_BYTES = 256 << 20    # all arrays of one message, unpacked
RNG_SEED = 20241127  # the kernel's global RNG before each probe: the student's own random draws (dropout
# masks) are the same in every grading run, so a statistical check gives every run the same verdict


class GraderBug(Exception):
    """An exception in the grading process itself, wherever it is raised (a plan, a judgement, the overrule, a
    message, the outputs, the kernel's lifecycle): the grader's fault, never the student's. Only what comes from
    the student's kernel is the notebook's (grading/faults.py: NotebookFault; here: BadData, a failed test).
    Grading of that student stops loudly; nothing is recorded for the student."""

    def __init__(self, grade_id, error):
        super().__init__(f"grader bug at {grade_id}: {type(error).__name__}: {error} "
                         f"(this is a fault of grading/, not of the submission; nothing was recorded for this student)")
        self.grade_id, self.error = grade_id, error


@dataclass
class Verdict:
    passed: bool
    lines: list = field(default_factory=list)   # what was compared, shown whether it passed or not
    mistake: str = ""
    message: str = ""


# ---------------------------------------------------------------- decoding and checking the kernel's data
ARCHIVE_ERRORS = (ValueError, OSError, EOFError, KeyError, TypeError, IndexError, NotImplementedError,
                  zipfile.BadZipFile, zipfile.LargeZipFile, struct.error, zlib.error, MemoryError)


def decode(message):
    """(meta, {name: tensor}) from a probe message (its JSON text, its npz bytes: lab2_probe.encode); raises BadData
    for anything else. Runs no code."""
    text, packed = message if isinstance(message, tuple) and len(message) == 2 else (None, None)
    if not isinstance(text, str) or not isinstance(packed, bytes) or len(text) + len(packed) > MAX_MESSAGE_BYTES:
        raise BadData("message missing or too large")
    try:
        meta = json.loads(text)["meta"]
    except (ValueError, KeyError, TypeError) as err:
        raise BadData(f"not a probe message ({type(err).__name__})") from None
    if not isinstance(meta, dict):
        raise BadData("meta is not an object")
    try:
        with zipfile.ZipFile(io.BytesIO(packed)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_ARRAY_BYTES:
                raise BadData("arrays too large")
        with np.load(io.BytesIO(packed), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ARCHIVE_ERRORS as err:  # a broken or hostile archive
        raise BadData(f"unreadable arrays ({type(err).__name__})") from None
    for name, array in arrays.items():
        if array.dtype.kind not in "fbiu":
            raise BadData(f"array {name} has dtype {array.dtype}")
    return meta, {name: torch.from_numpy(np.array(array)) for name, array in arrays.items()}


def _need(ok, what):
    if not ok:
        raise BadData(what)


def _strings(value, what):
    _need(isinstance(value, list) and all(isinstance(v, str) for v in value), f"{what}: not a list of strings")


def _error_info(value, what):
    _need(value is None or isinstance(value, dict) and isinstance(value.get("type", ""), str)
          and isinstance(value.get("message", ""), str), f"{what}: not an error description")


def _tensor_info(value, what, arrays):
    if value is None:
        return
    _need(isinstance(value, dict) and isinstance(value.get("type"), str), f"{what}: not a value description")
    if value["type"] == "torch.Tensor":
        shape = value.get("shape")
        _need(isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape), f"{what}: bad shape")
        _need(isinstance(value.get("dtype"), str) and isinstance(value.get("requires_grad", False), bool)
              and isinstance(value.get("device", "cpu"), str), f"{what}: bad dtype or device")
        _need("array" not in value or value["array"] in arrays, f"{what}: names no array")


def _call(call, what, arrays):
    _need(isinstance(call, dict), f"{what}: not an object")
    _error_info(call.get("error"), what)
    _tensor_info(call.get("out"), what, arrays)
    _strings(call.get("ops", []), f"{what}.ops")
    funcs = call.get("funcs", {})
    _need(isinstance(funcs, dict) and all(isinstance(k, str) and type(v) is int for k, v in funcs.items()),
          f"{what}.funcs")
    _strings(call.get("warnings", []), f"{what}.warnings")
    outside = call.get("outside", [])
    _need(isinstance(outside, list) and all(
        isinstance(t, dict) and isinstance(t.get("shape"), list) and all(type(n) is int for n in t["shape"])
        and isinstance(t.get("dtype"), str) and type(t.get("numel")) is int for t in outside), f"{what}.outside")
    _strings(call.get("inputs_sha", []), f"{what}.inputs_sha")
    _need(call.get("backward_error") is None or isinstance(call["backward_error"], str), f"{what}: backward_error")
    _tensor_info(call.get("grad"), f"{what}.grad", arrays)


def validate(plan, meta, arrays):
    """BadData unless `meta` has the structure the probe writes for this plan (then the judges may rely on it)."""
    cases = plan["cases"]
    if plan["collector"] == "activation" and any(k in meta for k in ("construct_error", "missing_method")):
        _error_info(meta.get("construct_error"), "construct_error")
        return
    calls = meta.get("calls")
    _need(isinstance(calls, list) and len(calls) == len(cases), "calls: one per case")
    for i, call in enumerate(calls):
        what = f"calls[{i}]"
        if plan["collector"] == "network":
            _need(isinstance(call, dict), what)
            if "construct_error" in call:
                _error_info(call["construct_error"], what)
                continue
            _need(type(call.get("activation_calls", 0)) is int, f"{what}.activation_calls")
            _need(isinstance(call.get("params_error", ""), str), f"{what}.params_error")
            params = call.get("params", [])
            _need(isinstance(params, list), f"{what}.params")
            for layer in params:
                _need(isinstance(layer, list) and len(layer) == 3 and isinstance(layer[0], str), f"{what}.params")
                _tensor_info(layer[1], f"{what}.params", arrays)
                _tensor_info(layer[2], f"{what}.params", arrays)
        _call(call, what, arrays)


class UndeclaredMistake(Exception):
    """A verdict with a mistake id that its test does not declare (grading/parts/: Test.mistakes, shared_mistakes)."""


def declared(grade_id, verdict):
    """The verdict, if its mistake id is one its test declares; else a GraderBug (the grader's fault: the class
    report counts declared ids only)."""
    if verdict.mistake and verdict.mistake not in parts.MISTAKES[grade_id]:
        raise GraderBug(grade_id, UndeclaredMistake(f"mistake id {verdict.mistake!r} is not declared for {grade_id}"))
    return verdict


# ---------------------------------------------------------------- plans and judgements
def plan(grade_id, seed, token=""):
    """The plan of one hidden test: which collector, which inputs (from `seed`), which calls."""
    _, test = parts.test(grade_id)
    result = test.plan(int(seed) % (2 ** 62))
    result.update(grade_id=grade_id, token=token, rng_seed=RNG_SEED)
    return result


def judge(grade_id, test_plan, message, kernel_error=None):
    """The verdict on one hidden test from the probe's message (None when none came out of the kernel).
    Data that is not what the probe writes fails the test; any other exception is a GraderBug."""
    compared = Report()
    if message is None:
        why = f"(内核里的错误:{kernel_error})" if kernel_error else ""
        return Verdict(False, compared.lines, judging.NO_PROBE_DATA,
                       f"评分程序没有从内核收到这个测试的数据{why}。请确认上面定义这部分代码的单元能正常运行,且没有改动评分用的内核。")
    try:
        meta, arrays = decode(message)
        if meta.get("token") != test_plan["token"] or meta.get("grade_id") != grade_id:
            raise BadData("data for another test")
        validate(test_plan, meta, arrays)
        part, test = parts.test(grade_id)
        test.judge(part, test_plan, meta, arrays, compared)
        judging.read_nothing_from_outside(part, test_plan, meta)
    except Failed as failure:
        return declared(grade_id, Verdict(False, compared.lines, failure.mistake, failure.message))
    except BadData as err:
        return Verdict(False, compared.lines, judging.PROBE_DATA_INVALID,
                       f"从内核收到的评分数据不完整或格式不对({str(err)[:200]}),这个测试不得分。"
                       "如果你没有改动评分用的内核,请联系助教。")
    except Exception as err:
        raise GraderBug(grade_id, err) from err
    return Verdict(True, compared.lines)


def check_here(grade_id, objects, seed=2024):
    """The hidden test judged in this process (nbgrader validate on the master, benchmarks/whole_lab.py):
    the same plan, probe, message and judgement as autograde, without the kernel boundary."""
    test_plan = plan(grade_id, seed, token="local")
    verdict = judge(grade_id, test_plan, lab2_probe.encode(*lab2_probe.collect(test_plan, objects)))
    for line in verdict.lines:
        print(line)
    if not verdict.passed:
        raise AssertionError(verdict.message)


# ---------------------------------------------------------------- what an answer cell ran while it ran
def definition(grade_id, token, message):
    """What the probe recorded while answer cell `grade_id` ran ({"ops", "funcs"}), or None where no such record came
    out of the kernel (only the student's code can cause that: the cell's part is judged without its points)."""
    try:
        meta, _ = decode(message)
    except BadData:
        return None
    cell = meta.get("cell")
    if meta.get("token") != token or meta.get("grade_id") != grade_id or not isinstance(cell, dict):
        return None
    ops, funcs = cell.get("ops"), cell.get("funcs")
    if not (isinstance(ops, list) and all(isinstance(o, str) for o in ops) and isinstance(funcs, dict)
            and all(isinstance(k, str) and type(v) is int for k, v in funcs.items())):
        return None
    return {"ops": ops, "funcs": funcs}


def defined_within_rules(grade_id, verdict, definitions):
    """The verdict once what the part's answer cell ran while it ran is taken into account (definitions: part name ->
    definition(...), for the answer cells that ran): an op outside the part's allowlist there (a table built with
    torch.sigmoid in the class body, say) fails every test of the part; no record of it fails a test that passed."""
    part, _ = parts.test(grade_id)
    if part.ops is None or part.name not in definitions:
        return verdict
    record = definitions[part.name]
    if record is None:  # the probe was kept from answering (tampering, judged on the source): a failed test says why
        if not verdict.passed:
            return verdict
        return Verdict(False, verdict.lines, judging.NO_PROBE_DATA,  # no data came out of the kernel for the cell
                       f"评分程序没有收到 {part.code} 的答案单元运行时的记录(内核里记录运算的工具被改动或关掉了)。"
                       "这一部分评分时不计分。")
    allowed, allowed_text = allowlists.ALLOWLISTS[part.ops]
    broken = allowlists.violation(allowed | allowlists.AT_DEFINITION, record["ops"], {})
    if broken:
        return Verdict(False, verdict.lines, f"{part.name}_op_at_definition",
                       allowlists.definition_message(part.code, broken[1], allowed_text))
    return verdict


# ---------------------------------------------------------------- the submitted source overrules the data


def overrule(grade_id, cell_index, verdict, findings):
    """The verdict once the submitted source (grading/source_rules.py, read outside the kernel) is taken into
    account: tampering with the kernel in a cell before this test fails it; code the grader cannot read in a cell
    before it holds it at 0 for a TA's review; autograd in a derivative fails it. The compared numbers stay."""
    return declared(grade_id, _overrule(grade_id, cell_index, verdict, findings))


def _overrule(grade_id, cell_index, verdict, findings):
    part, _ = parts.test(grade_id)
    before = [f for f in findings if f.cell < cell_index]
    tampering = [f for f in before if FINDING_KINDS[f.kind].cost == AFTER]
    if tampering:
        first, more = tampering[0], len(tampering) - 1
        return Verdict(False, verdict.lines, FINDING_KINDS[first.kind].mistake,
                       f"这个测试不计分:{first.where}{first.what}:`{first.code}`。改动评分内核之后运行的测试都无法被信任,"
                       f"得 0 分(在它之前运行的测试不受影响)。" + (f"另有 {more} 处类似代码。" if more else "")
                       + "请删掉这段代码后重新提交;如果你认为这是误判,请联系助教。")
    unreadable = [f for f in before if FINDING_KINDS[f.kind].cost == REVIEW]
    if unreadable:
        first, more = unreadable[0], len(unreadable) - 1
        return Verdict(False, verdict.lines, FINDING_KINDS[first.kind].mistake,
                       f"这个测试暂记 0 分,等待助教复核:{first.where}{first.what}(`{first.code}`)。评分程序读不懂这样的代码,"
                       "无法确认之后的测试真正检查的是你写的代码,所以它之后的测试都交给助教:助教读过代码、确认没有问题后会"
                       "手动给回分数。" + (f"另有 {more} 处类似代码。" if more else "")
                       + "想避免复核,请把代码直接写出来(不用 exec、运行时拼出的名字、自己写出再导入的模块或 %run)。"
                       + (f"(在内核里的判定:{'通过' if verdict.passed else '未通过:' + verdict.message})"
                          if verdict.message or verdict.passed else ""))
    autograd = [f for f in findings if FINDING_KINDS[f.kind].cost == DERIVATIVE and f.part == part.name]
    if autograd and grade_id.endswith("_derivative"):
        used = sorted(dict.fromkeys(f"{f.rule}({f.where})" for f in autograd))
        return Verdict(False, verdict.lines, FINDING_KINDS[autograd[0].kind].mistake.format(part=part.name),
                       allowlists.message("autograd", f"{part.obj}.derivative", used, ""))
    return verdict
