"""nbgrader's Execute preprocessor, with the trust boundary and fault isolation of this course.

Trust boundary. The student's kernel is the student's: any code there can patch modules, hooks and frames.
So no point is decided inside it. For every test cell:

1. the cell's visible tests run in the kernel as the student saw them (their output is shown, nothing more);
2. a second request runs the hidden test's one line with a plan from this process: `lab2_probe.check(
   '<grade_id>', <the student's class or function>, plan=...)`, whose inputs come from a secret drawn for
   this grading run (grading/lab2_grader.py); the probe sends back plain data (JSON + npz);
3. here, outside the kernel, lab2_grader.judge decides on that data, and the submitted source, read here
   (grading/source_rules.py), can overrule it: a clear use of a part's library op or of autograd in a derivative
   costs that part's points, tampering with the kernel (IPython hooks, the grader's module, frames, gc, ctypes,
   ...) costs every test after it;
4. the cell's outputs are rewritten: the kernel's outputs become plain text (an error raised in the kernel
   costs nothing by itself), then the compared numbers, then, when the verdict fails, one error with the
   Chinese message. nbgrader's SaveAutoGrades scores a test cell by the presence of an error output, so the
   points are exactly the verdict.

Fault isolation. Plain nbgrader stops grading a student when the kernel dies (os._exit, a segfault, the memory
limit) or stops answering, and records nothing for that student. Here the cells that ran keep their outputs and
therefore their points; the cell that was running and every later cell get an error output that says what
happened, so they score 0, and the notebook is flagged for the TA to review (metadata 'lab2_needs_review',
which tools/integrity_report.py lists).
"""
import ast
import asyncio
import base64
import json
import re
import secrets

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

import lab2_grader
import lab2_probe
import source_rules

# Whatever stops the execution of one student's notebook is that notebook's fault, not the batch's.
FAULTS = (Exception, asyncio.CancelledError)
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


def ran(cell):
    return "shell.execute_reply" in cell.get("metadata", {}).get("execution", {})


def decided(cell):
    return "verdict" in cell.get("metadata", {}).get("lab2", {})


def split_test(source, grade_id):
    """(the visible tests, the hidden test's probe call) of a test cell. The hidden region of every test cell
    is one call `lab2_probe.check('<its grade id>', name, ...)` (tests/test_metadata.py checks it)."""
    match = HIDDEN.search(source)
    if match is None:
        raise ValueError(f"{grade_id}: no hidden test region")
    calls = [node.value for node in ast.parse(match.group(1)).body
             if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
             and ast.unparse(node.value.func) == "lab2_probe.check"]
    if len(calls) != 1 or not calls[0].args or getattr(calls[0].args[0], "value", None) != grade_id \
            or not all(isinstance(a, ast.Name) for a in calls[0].args[1:]):
        raise ValueError(f"{grade_id}: the hidden test must be exactly one lab2_probe.check('{grade_id}', name, ...)")
    return source[:match.start()] + source[match.end():], calls[0]


def probe_request(call, plan):
    """The hidden test's line as the kernel receives it: with this run's plan."""
    call = ast.Call(func=call.func, args=call.args,
                    keywords=[ast.keyword("plan", ast.Constant(base64.b64encode(json.dumps(plan).encode()).decode()))])
    return "import lab2_probe\n" + ast.unparse(ast.fix_missing_locations(call))


def probe_message(outputs, token):
    """(the probe's message, the kernel's error text) from the outputs of the probe request."""
    messages, error = [], None
    for output in outputs:
        text = output.get("data", {}).get(lab2_probe.MIME) if output.get("output_type") == "display_data" else None
        if isinstance(text, str) and f'"token": "{token}"' in text:
            messages.append(text)
        if output.get("output_type") == "error":
            error = f"{output.get('ename', '')}: {output.get('evalue', '')}"[:300]
    if len(messages) != 1:  # none, or forged extra ones: nothing to trust
        return None, error or (f"{len(messages)} 条数据" if messages else None)
    return messages[0], error


def shown(outputs):
    """The kernel's outputs of a test cell as plain text: what the student's code printed or raised inside the
    kernel is shown, but only the verdict decides the points (no error, stderr or execute_result is kept)."""
    result = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
        elif kind == "error":
            text = f"[内核里的可见测试报错;得分以内核之外的判定为准] {output.get('ename', '')}: {output.get('evalue', '')}\n"
        elif kind in ("execute_result", "display_data"):
            if lab2_probe.MIME in output.get("data", {}):
                continue
            text = output.get("data", {}).get("text/plain", "")
            text = text + "\n" if text and not text.endswith("\n") else text
        else:
            continue
        if text:
            if result and result[-1].text is not None and result[-1].name == "stdout":
                result[-1].text += text
            else:
                result.append(NotebookNode(output_type="stream", name="stdout", text=text))
    return result


def verdict_outputs(verdict):
    lines = "".join(f"{line}\n" for line in verdict.lines)
    outputs = [NotebookNode(output_type="stream", name="stdout",
                            text=f"隐藏测试(评分程序在内核之外判定):{'通过' if verdict.passed else '未通过'}\n{lines}")]
    if not verdict.passed:
        outputs.append(NotebookNode(output_type="error", ename="AssertionError", evalue=verdict.message,
                                    traceback=[f"AssertionError: {verdict.message}"]))
    return outputs


class SafeExecute(Execute):
    """A first timeout interrupts the cell (an interruptible endless loop costs that cell only); a second one
    means the kernel no longer answers, and grading of this notebook stops there."""

    async def _async_handle_timeout(self, timeout, cell=None):
        self._lab2_timeouts = getattr(self, "_lab2_timeouts", 0) + 1
        if self._lab2_timeouts > 1:
            raise CellTimeoutError.error_from_timeout_and_cell("the kernel stopped answering", timeout, cell)
        return await super()._async_handle_timeout(timeout, cell)

    def preprocess(self, nb, resources=None, km=None):
        self._lab2_timeouts = 0
        self._lab2_seed = secrets.randbits(62)  # this run's inputs: nobody can know them in advance
        self._lab2_findings = source_rules.scan_notebook(nb)
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except FAULTS as err:
            nb = getattr(self, "nb", None) or nb
            self._mark_unrun(nb, err)
            try:  # the kernel may be dead or still spinning: make sure it is gone
                if getattr(self, "km", None) is not None and self.km.has_kernel:
                    run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:
                pass
        nb.metadata["lab2_grading"] = {"decided_outside_the_kernel": True,
                                       "findings": [f.as_dict() for f in self._lab2_findings]}
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if not source_rules.is_test_cell(cell):
            return super().preprocess_cell(cell, resources, index)
        self._check_assign_resources(resources)
        run_sync(self._grade_test_cell)(cell, index)
        return cell, self.resources

    async def _grade_test_cell(self, cell, index):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        visible, call = split_test(cell.source, grade_id)
        token = secrets.token_hex(8)
        plan = lab2_grader.plan(grade_id, self._lab2_seed + index, token)
        source, cell.source = cell.source, visible
        try:
            await self.async_execute_cell(cell, index, store_history=True)
        finally:
            cell.source = source
        kernel_outputs = cell.outputs
        probe = NotebookNode(cell_type="code", source=probe_request(call, plan), metadata={}, outputs=[])
        try:
            await self.async_execute_cell(probe, index, store_history=False)
        except FAULTS:
            cell.outputs = shown(kernel_outputs)  # no verdict: _mark_unrun gives it the fault's message
            raise
        finally:
            self.nb.cells[index] = cell  # nbclient stores the cell it executed at its index
        message, kernel_error = probe_message(probe.outputs, token)
        on_data = lab2_grader.judge(grade_id, plan, message, kernel_error)
        verdict = lab2_grader.overrule(grade_id, index, on_data, self._lab2_findings)
        cell.outputs = shown(kernel_outputs) + verdict_outputs(verdict)
        cell.metadata["lab2"] = {"verdict": "pass" if verdict.passed else "fail", "mistake": verdict.mistake,
                                 "message": verdict.message, "data_mistake": on_data.mistake}

    def _mark_unrun(self, nb, err):
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        unrun = [i for i in code if not ran(nb.cells[i]) or source_rules.is_test_cell(nb.cells[i])
                 and not decided(nb.cells[i])]
        if not unrun:
            return
        first = unrun[0]
        kind = type(err).__name__
        reason = (f"评分内核在运行第 {first + 1} 个单元时停止了({kind}:例如 os._exit、段错误、超出内存或 CPU 时间限制、"
                  f"不响应的死循环)。这个单元和之后的单元没有运行,得 0 分;之前通过的单元保留分数。请助教复核这份作业。")
        self.log.warning("kernel fault in cell %d (%s): %s", first + 1, kind, err)
        nb.metadata["lab2_needs_review"] = {"cell": first + 1, "fault": kind, "detail": str(err)[:500]}
        for i in unrun:
            output = NotebookNode(output_type="error", ename="GradingStopped", evalue=reason,
                                  traceback=[f"GradingStopped: {reason}"])
            nb.cells[i].outputs = list(nb.cells[i].get("outputs", [])) + [output]
            if source_rules.is_test_cell(nb.cells[i]):
                nb.cells[i].metadata["lab2"] = {"verdict": "fail", "mistake": "kernel_fault", "message": reason}
