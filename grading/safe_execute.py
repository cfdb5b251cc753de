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

Who is at fault. Only what is known to come from the student's kernel is the notebook's fault (NotebookFault):
a cell's error in the kernel (an error output, which costs nothing by itself), the kernel's death or silence
(nbclient's DeadKernelError and CellTimeoutError while a cell runs: KernelFault), an exceeded budget
(BudgetExceeded), and data from the kernel that fails validation (lab2_grader.judge: that test fails). Any other
exception raised in the grading process, wherever it is raised, is a GraderBug: grading of that student stops
loudly (the log names the student, the test and the exception), nbgrader records nothing for the student and
exits non-zero (tests/test_fault_injection.py injects a raise into every function the grading process runs).

Fault isolation. Plain nbgrader stops grading a student when the kernel dies (os._exit, a segfault, the memory
limit) or stops answering, and records nothing for that student. Here the cells that ran keep their outputs and
therefore their points; the cell that was running and every later cell get an error output that says what
happened, so they score 0, and the notebook is flagged for the TA to review (metadata 'lab2_needs_review',
which tools/integrity_report.py lists).
"""
import ast
import atexit
import base64
import json
import math
import os
import secrets
import shutil
import subprocess
import tempfile
import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from jupyter_client.kernelspec import KernelSpecManager
from traitlets import Bool, Float, Integer, default

import course
from grading import lab2_grader, lab2_probe, rules, source_rules, student_runs, zygote
from grading.lab2_grader import GraderBug

# What nbclient raises when the kernel, while it runs a cell, dies or stops answering: the notebook's fault.
KERNEL_FAULTS = (DeadKernelError, CellTimeoutError)
KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter", "kernels")  # the sandboxed kernel


def executed(nb):
    """The cells autograde runs: every code cell but the experiments (the student's own run is kept)."""
    return {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not student_runs.is_experiment(c)}


def has_run(cell):
    return "shell.execute_reply" in cell.get("metadata", {}).get("execution", {})


def decided(cell):
    return "verdict" in cell.get("metadata", {}).get("lab2", {})


def split_test(source, grade_id):
    """(the visible tests, the hidden test's probe call) of a test cell. The hidden region of every test cell
    is one call `lab2_probe.check('<its grade id>', name, ...)` (tests/test_metadata.py checks it)."""
    match = course.HIDDEN.search(source)
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
            error = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            text = f"[可见测试报错;这个单元的得分以下面隐藏测试的判定为准] {error}\n"
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
                            text=f"隐藏测试:{'通过' if verdict.passed else '未通过'}\n{lines}")]
    if not verdict.passed:
        outputs.append(NotebookNode(output_type="error", ename="AssertionError", evalue=verdict.message,
                                    traceback=[f"AssertionError: {verdict.message}"]))
    return outputs


class NotebookFault(Exception):
    """What stops grading of one notebook and is known to come from its kernel: the cells from there on score 0 and
    the notebook is flagged for review. Every other exception in the grading process is a GraderBug."""
    kind = "fault"

    @property
    def name(self):
        return type(self).__name__


class KernelFault(NotebookFault):
    """The kernel died or stopped answering while it ran a cell (nbclient's DeadKernelError, CellTimeoutError)."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error

    @property
    def name(self):
        return type(self.error).__name__


class BudgetExceeded(NotebookFault):
    """The notebook used up its wall-clock or its disk budget: grading of it stops here."""

    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind


STOP_MESSAGES = {  # what the TA and the student read when grading of a notebook stops
    "time": "这份笔记本用完了整体运行时间预算({budget}):评分在第 {cell} 个单元停止。",
    "disk": "这份笔记本写入的数据用完了磁盘预算({budget}):评分在第 {cell} 个单元停止。",
    "fault": "评分内核在运行第 {cell} 个单元时停止了({kind}:例如 os._exit、段错误、超出内存或 CPU 时间限制、不响应的死循环)。",
}


class SandboxMissing(SystemExit):
    """No bwrap: stop the whole run (not one notebook's fault, and no student may get zeros for it)."""


def refuse_without_sandbox(**_):
    """nbgrader's pre-convert hook of autograde (nbgrader_config.py): stop before a submission or the gradebook is
    touched when the sandbox is on and bwrap is missing (SafeExecute checks again when it starts a kernel)."""
    if course.sandbox_on() and shutil.which("bwrap") is None:
        raise SandboxMissing(course.SANDBOX_MISSING)


_warm = {}  # the next notebook's kernel, started while nbgrader stores the previous notebook
_ipc = []   # this process's folder of kernel IPC folders, made on first use


@atexit.register
def _shutdown_warm():
    for km, folder in _warm.values():
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:
            pass
        shutil.rmtree(folder, ignore_errors=True)
    _warm.clear()
    for folder in _ipc:
        shutil.rmtree(folder, ignore_errors=True)


def ipc_folder():
    """A new folder for one sandboxed kernel's sockets, seen by that kernel only."""
    if not _ipc:
        _ipc.append(tempfile.mkdtemp(prefix="lab2-kernels-"))
    return tempfile.mkdtemp(prefix="k", dir=_ipc[0])


def sandbox_tmp(km):
    """(bytes used, bytes in all) of the sandbox's /tmp, seen from outside through /proc; None if not visible."""
    try:
        pid = km.provisioner.process.pid
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            child = f.read().split()[0]
        stat = os.statvfs(f"/proc/{child}/root/tmp")
    except (AttributeError, OSError, IndexError):
        return None
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize, stat.f_blocks * stat.f_frsize


class SafeExecute(Execute):
    """The grading driver: one fresh sandboxed kernel per notebook (started while nbgrader stored the previous
    one), the trust boundary for test cells, no experiment run again, budgets of time and disk per notebook.
    A first cell timeout interrupts the cell (an interruptible endless loop costs that cell only); a second one
    means the kernel no longer answers, and grading of this notebook stops there.

    Its limits are nbgrader settings (c.SafeExecute.<name> in nbgrader_config.py or on the command line); the
    environment variables named in their help override the defaults (course.py: the defaults)."""

    cell_timeout = Integer(help="Seconds one cell may run under autograde; a first timeout interrupts the cell, a "
                           "second stops the notebook. Default: $LAB2_CELL_TIMEOUT or 120.").tag(config=True)
    notebook_timeout = Float(help="Seconds of wall clock for one whole notebook under autograde. "
                             "Default: $LAB2_NOTEBOOK_TIMEOUT or 600.").tag(config=True)
    disk_budget_mb = Integer(help="MiB one grading kernel may write in all (the size of its private /tmp). "
                             "Default: $LAB2_DISK_BUDGET_MB or 512.").tag(config=True)
    sandbox = Bool(help="Run each student's kernel in the bubblewrap sandbox (grading/jupyter/kernels/lab2-sandbox/); "
                   "without bwrap, autograde refuses. Default: on, unless $LAB2_SANDBOX is 'off'.").tag(config=True)
    kernel_memory_gb = Float(6.0, help="Address space of one sandboxed kernel, GiB (torch alone maps about "
                             "3.7 GiB).").tag(config=True)
    kernel_cpu_seconds = Integer(600, help="CPU time of one sandboxed kernel, seconds.").tag(config=True)
    kernel_processes = Integer(256, help="Processes of one sandboxed kernel's own uid (when grading as root).") \
        .tag(config=True)
    kernel_file_mb = Integer(256, help="Largest file one sandboxed kernel may write, MiB.").tag(config=True)
    prestart = Bool(None, allow_none=True, help="Start the next notebook's kernel while nbgrader stores this one. "
                    "Default (None): when the same nbgrader run grades another submission after this one (the command "
                    "line's batch; the Formgrader grades one at a time and keeps no idle kernel); "
                    "tools/autograde_parallel.py's workers set it to True.").tag(config=True)

    zygote = Bool(help="Fork each sandboxed kernel from this process's kernel zygote (grading/zygote.py: torch and "
                  "ipykernel imported once, a fresh sandbox per notebook) instead of starting a new Python per notebook. "
                  "Default: on when grading as root in the sandbox, unless $LAB2_ZYGOTE is 'off'.").tag(config=True)

    @default("zygote")
    def _default_zygote(self):
        return zygote.available()

    @default("cell_timeout")
    def _default_cell_timeout(self):
        return course.cell_timeout()

    @default("notebook_timeout")
    def _default_notebook_timeout(self):
        return course.notebook_timeout()

    @default("disk_budget_mb")
    def _default_disk_budget(self):
        return course.disk_budget_mb()

    @default("sandbox")
    def _default_sandbox(self):
        return course.sandbox_on()

    def limits(self):
        """What the sandbox's launcher enforces (grading/jupyter/kernels/lab2-sandbox/launch.py reads LAB2_LIMITS)."""
        return {"disk_bytes": self.disk_budget_mb << 20, "address_space_bytes": int(self.kernel_memory_gb * (1 << 30)),
                "cpu_seconds": self.kernel_cpu_seconds, "processes": self.kernel_processes,
                "file_bytes": self.kernel_file_mb << 20}

    def _more_to_grade(self, resources):
        """Whether this nbgrader run grades another submission after this one (nbgrader's converter is the parent
        of the exporter that made this preprocessor; its `assignments` are the submissions of this run)."""
        converter = getattr(self.parent, "parent", None)
        student = (resources or {}).get("nbgrader", {}).get("student")
        folders = sorted(getattr(converter, "assignments", None) or {})
        mine = [i for i, folder in enumerate(folders) if student and os.path.basename(os.path.dirname(folder)) == student]
        return bool(mine) and mine[-1] < len(folders) - 1

    async def _async_handle_timeout(self, timeout, cell=None):
        if self._lab2_budget_bound or time.monotonic() >= self._lab2_deadline:
            raise BudgetExceeded("time", f"{self.notebook_timeout:.0f} s for the whole notebook")
        self._lab2_timeouts = getattr(self, "_lab2_timeouts", 0) + 1
        if self._lab2_timeouts > 1:
            raise CellTimeoutError.error_from_timeout_and_cell("the kernel stopped answering", timeout, cell)
        return await super()._async_handle_timeout(timeout, cell)

    def _get_timeout(self, cell):
        """A cell may run `timeout` seconds, and never past the notebook's deadline; when the deadline is the
        nearer, the timeout is the notebook's (a budget), not the cell's."""
        left = self._lab2_deadline - time.monotonic()
        if left <= 0:
            raise BudgetExceeded("time", f"{self.notebook_timeout:.0f} s for the whole notebook")
        timeout = self.cell_timeout
        self._lab2_budget_bound = not timeout or left < timeout
        return math.ceil(left if self._lab2_budget_bound else timeout)

    # ---- one kernel per notebook, in an IPC folder of its own
    def _sandboxed(self):
        return self.sandbox

    async def _async_new_kernel(self):
        name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name", "python3")
        options, env = {}, dict(os.environ)
        if self._sandboxed():  # the sandboxed kernel, its sockets in a folder that no other kernel sees
            if shutil.which("bwrap") is None:
                raise SandboxMissing(course.SANDBOX_MISSING)
            folder = ipc_folder()
            name = "lab2-sandbox"
            options = {"transport": "ipc", "ip": os.path.join(folder, "kernel"),
                       "kernel_spec_manager": KernelSpecManager(kernel_dirs=[KERNELS])}
            env["LAB2_LIMITS"] = json.dumps(self.limits())
            if self.zygote:  # issue 25's hook: the same sandbox, forked by the zygote (grading/zygote.py)
                name = zygote.kernel_name()
        else:
            folder = tempfile.mkdtemp(prefix="lab2-kernel-")
        km = self.kernel_manager_class(kernel_name=name, config=self.config, **options)
        km.lab2_started = time.monotonic()
        # the kernel's banner ("To connect another client to this kernel ...") would fill the TA's console;
        # a kernel that fails is recorded in its notebook and in the integrity report
        await km.start_kernel(extra_arguments=self.extra_arguments, cwd=folder, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)
        return km, folder

    _new_kernel = run_sync(_async_new_kernel)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        now = time.monotonic()
        # how long this notebook waited for its kernel, and how long the kernel took to boot (it may have
        # started while nbgrader stored the previous notebook)
        self._lab2_timing.update(kernel_wait=round(now - self._lab2_start, 3),
                                 kernel_boot=round(now - getattr(self.km, "lab2_started", self._lab2_start), 3))
        if self._sandboxed() and os.geteuid() == 0:
            # the kernel is up and its sockets exist: from now on it cannot write into its IPC folder, so all
            # it can write is its own tmpfs (the disk budget)
            os.chown(self._lab2_folder, 0, 0)
            os.chmod(self._lab2_folder, 0o755)
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # what nbconvert's setup_kernel calls

    def _check_disk(self):
        usage = sandbox_tmp(self.km)
        if usage and usage[1] - usage[0] < (1 << 20):
            raise BudgetExceeded("disk", f"{usage[1] >> 20} MiB for everything the kernel writes")

    def preprocess(self, nb, resources=None, km=None):
        """Grade one notebook. Whatever is raised here and is not the notebook's fault (NotebookFault, handled
        inside) is the grader's: a GraderBug, logged with the student and the test, and raised to nbgrader."""
        self._lab2_where = "the start of grading"
        try:
            return self._grade_notebook(nb, resources)
        except Exception as err:
            bug = err if isinstance(err, GraderBug) else GraderBug(self._lab2_where, err)
            student = (resources or {}).get("nbgrader", {}).get("student", "?")
            self.log.error("GRADER BUG (grading/, not the student): grading of student '%s' stopped at %s: %s: %s; "
                           "nothing was recorded for this student, whose earlier rows stay as they were",
                           student, bug.grade_id, type(bug.error).__name__, bug.error)
            if bug is err:
                raise
            raise bug from err

    def _grade_notebook(self, nb, resources):
        if self._sandboxed() and shutil.which("bwrap") is None:
            raise SandboxMissing(course.SANDBOX_MISSING)
        self._lab2_start = time.monotonic()
        self._lab2_deadline = self._lab2_start + self.notebook_timeout
        self._lab2_timing = {"started_at": time.time(), "cells": []}
        self._lab2_timeouts, self._lab2_budget_bound = 0, False
        self._lab2_seed = secrets.randbits(62)  # this run's inputs: nobody can know them in advance
        self.nb = nb
        self._lab2_findings = source_rules.scan_notebook(nb, executed(nb))
        km, self._lab2_folder = _warm.pop("next", None) or self._new_kernel()
        if not run_sync(km.is_alive)():  # a warm kernel that died waiting: not this student's fault
            shutil.rmtree(self._lab2_folder, ignore_errors=True)
            km, self._lab2_folder = self._new_kernel()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except NotebookFault as fault:
            nb = getattr(self, "nb", None) or nb
            self._mark_unrun(nb, fault)
        finally:
            self._lab2_close(km)
        self._lab2_where = "the graded notebook's outputs"
        for cell in nb.cells:
            if cell.cell_type == "code" and not course.is_test(cell):
                cell.outputs = student_runs.safe_outputs(list(cell.get("outputs", [])))
            if course.meta(cell).get("grade_id") == rules.CELL_ID:  # the rules' code, as handed out: not shown again
                cell.source = rules.CELL_SHOWN
                cell.outputs = []
        if self.prestart or self.prestart is None and self._more_to_grade(resources):
            # the next notebook's kernel boots while nbgrader stores this one and reads the next
            _warm["next"] = self._new_kernel()
        self._lab2_timing["total"] = round(time.monotonic() - self._lab2_start, 3)
        nb.metadata["lab2_grading"] = {"decided_outside_the_kernel": True, "timing": self._lab2_timing,
                                       "findings": [f.as_dict() for f in self._lab2_findings]}
        return nb, resources

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """nbclient's, with the kernel's death or silence while the cell runs marked as the notebook's fault."""
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except KERNEL_FAULTS as err:
            raise KernelFault(err) from err

    execute_cell = run_sync(async_execute_cell)  # what nbconvert's preprocess_cell calls

    def _lab2_close(self, km):
        try:
            if getattr(self, "kc", None) is not None:
                self.kc.stop_channels()
                self.kc = None
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:
            pass
        shutil.rmtree(self._lab2_folder, ignore_errors=True)

    def preprocess_cell(self, cell, resources, index):
        start = time.monotonic()
        self._lab2_where = course.meta(cell).get("grade_id") or f"cell {index + 1}"
        if student_runs.is_experiment(cell):
            student_runs.mark_student_run(cell)
            return cell, resources
        if course.is_test(cell):
            self._check_assign_resources(resources)
            run_sync(self._grade_test_cell)(cell, index)
            label = cell.metadata["nbgrader"]["grade_id"]
        elif course.meta(cell).get("grade_id") == rules.CELL_ID:  # the advice's rules: silent under autograde
            cell.source = rules.CELL_UNDER_AUTOGRADE
            cell, resources = super().preprocess_cell(cell, resources, index)
            label = rules.CELL_ID
        else:
            cell, resources = super().preprocess_cell(cell, resources, index)
            label = course.meta(cell).get("grade_id") or "student code"
        if cell.cell_type == "code":
            self._lab2_timing["cells"].append([index, label, round(time.monotonic() - start, 3)])
            self._check_disk()
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
        except NotebookFault:
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

    def _mark_unrun(self, nb, fault):
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not student_runs.is_experiment(c)]
        unrun = [i for i in code if not has_run(nb.cells[i]) or course.is_test(nb.cells[i])
                 and not decided(nb.cells[i])]
        if not unrun:
            return
        first = unrun[0]
        kind = fault.kind
        budget = str(fault) if isinstance(fault, BudgetExceeded) else ""
        reason = (STOP_MESSAGES[kind].format(budget=budget, cell=first + 1, kind=fault.name)
                  + "这个单元和之后的单元没有运行,得 0 分;之前通过的单元保留分数。请助教复核这份作业。")
        self.log.warning("grading stopped in cell %d (%s): %s", first + 1, fault.name, fault)
        nb.metadata["lab2_needs_review"] = {"cell": first + 1, "fault": fault.name if kind == "fault" else
                                            {"time": "NotebookTimeBudget", "disk": "DiskBudget"}[kind],
                                            "detail": str(fault)[:500]}
        for i in unrun:
            output = NotebookNode(output_type="error", ename="GradingStopped", evalue=reason,
                                  traceback=[f"GradingStopped: {reason}"])
            nb.cells[i].outputs = list(nb.cells[i].get("outputs", [])) + [output]
            if course.is_test(nb.cells[i]):
                nb.cells[i].metadata["lab2"] = {"verdict": "fail", "mistake": "grading_stopped", "message": reason,
                                                "data_mistake": "grading_stopped"}
