"""The visible tests' advice, in the student's own kernel: before the student submits, each test cell's
lab2_rules.advise(grade id, object) says what the grader's rules will decide about it, with the same rules (this
package) on the code run so far and on what the part's code runs. Only advice: the grader decides outside the kernel.

The notebook's rules cell is this module with the modules it imports (tools/release.py bundles them, with ADVICE).
"""
import ast

import torch

from .allowlists import ALLOWLISTS, MISTAKES, graph_message, graph_mistake, message, violation
from .finding_kinds import AFTER, DERIVATIVE, FINDING_KINDS, REVIEW
from .inputs import materialize
from .recorder import UNAVAILABLE, Recorder
from .scanner import python_source, scan_source

_allclose = torch.allclose  # taken when this file loads
ADVICE = {}  # grade id -> what the advice needs (the notebook's rules cell fills it: tools/release.py)
MARK = "〔评分规则〕"  # how each line of advice starts
CELL_MARK = "# ---- 评分规则检查"  # the first line of the notebook's rules cell (left out of the history read)


def advise(grade_id, obj):
    """Say, before the student submits, what the grader's rules will decide about this test: the same rules
    (this package), on the code run so far in this kernel and on what this part's code runs. Only advice: the
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
    if spec["ops"] is not None:
        for what, since in UNAVAILABLE:  # what this torch cannot record (recorder.py); the grader's torch can
            print(f"{MARK}{grade_id}: 你的 torch {torch.__version__} 记录不了{what}:这一项检查需要 torch ≥ {since},"
                  "评分时仍会检查。")


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
    """The findings in the code run so far. A package not installed on the student's machine is not unreadable code
    (absent_ok): its import fails and says so."""
    notes = []
    for number, source in _history():
        derivative = spec["derivative"] and _defines(source, [spec["obj"]])
        for kind, rule, line, what in scan_source(source, derivative, absent_ok=True):
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
    with Recorder("advice", partial=True) as recorder:
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
            if result["error"] or violation(allowed, recorder.calls[-1], result["funcs"], in_torch=spec["in_torch"],
                                            derivative=spec["derivative_test"]):
                break  # decided by this call already (an error, or a rule broken by what the calling thread ran): the
                # cases after it cannot come first, and each costs seconds where code works element by element
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
