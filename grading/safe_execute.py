"""nbgrader's Execute preprocessor, with the trust boundary and fault isolation of this course.

Trust boundary. The student's kernel is the student's: any code there can patch modules, hooks and frames.
So no point is decided inside it. For every test cell:

1. the cell's visible tests run in the kernel as the student saw them (their output is shown, nothing more);
2. a second request runs the hidden test's one line with a plan from this process: `lab2_probe.check(
   '<grade_id>', <the student's class or function>, plan=...)`, whose inputs come from a secret drawn for
   this grading run (grading/lab2_grader.py); the probe sends back plain data (JSON, and an npz as the message's
   binary buffer);
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
therefore their points; the cell that was running and every later cell score 0, and the notebook is flagged for
the TA to review (grading/faults.py).

The concerns, one module each: the kernel and its sandbox (grading/kernels.py), the budgets (grading/budgets.py),
the hidden-test protocol (grading/hidden_tests.py), the graded outputs (grading/outputs.py), who is at fault
(grading/faults.py); this module drives them, one notebook at a time, with the notebook's state in one
NotebookGrading.
"""
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field

from jupyter_core.utils import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, default

import course
from grading import lab2_grader, parts, rules_cell, source_rules, student_runs, zygote
from grading.budgets import Budgets
from grading.faults import KERNEL_FAULTS, KernelFault, NotebookFault, mark_unrun
from grading.hidden_tests import BUFFERS, cell_requests, probe_message, probe_request, split_test
from grading.kernels import Kernel, SandboxedKernels, SandboxMissing
from grading.lab2_grader import GraderBug
from grading.outputs import shown, verdict_outputs


RECORDED_CELLS = {p.answer for p in parts.PARTS if p.ops is not None}  # answer cells judged while they run too


def executed(nb):
    """The cells autograde runs: every code cell but the experiments (the student's own run is kept)."""
    return {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not student_runs.is_experiment(c)}


@dataclass
class NotebookGrading:
    """What grading one notebook keeps while it runs."""
    where: str = "the start of grading"  # the test (or cell) being graded: what a GraderBug names
    start: float = 0.0                   # time.monotonic() when grading of the notebook started
    deadline: float = 0.0                # ... and when its time budget runs out
    seed: int = 0                        # this run's secret: the plans' inputs
    findings: list = field(default_factory=list)  # what reading the submitted source found (source_rules)
    kernel: Kernel = None                # the notebook's kernel
    timing: dict = field(default_factory=dict)    # kernel wait and boot, each cell's seconds, the total
    timeouts: int = 0                    # cell timeouts so far (a second one stops the notebook)
    budget_bound: bool = False           # whether the running cell's timeout is the notebook's deadline
    definitions: dict = field(default_factory=dict)  # part -> what its answer cell ran while it ran (or None)
    grader_request: bool = False         # whether the request running is the grader's (its outputs are not shown)


class SafeExecute(SandboxedKernels, Budgets, Execute):
    """The grading driver: one fresh sandboxed kernel per notebook (started while the previous one was graded), the
    trust boundary for test cells, no experiment run again, budgets of time and disk per notebook.

    Its limits are nbgrader settings (c.SafeExecute.<name> in nbgrader_config.py or on the command line); the
    environment variable each one's `env` metadata names overrides its default."""

    # a limit's default is written in its trait; the environment variable its `env` names overrides it (README)
    cell_timeout = Integer(120, help="Seconds one cell may run under autograde; a first timeout interrupts the cell, "
                           "a second stops the notebook.").tag(config=True, env="LAB2_CELL_TIMEOUT")
    notebook_timeout = Float(600.0, help="Seconds of wall clock for one whole notebook under autograde.") \
        .tag(config=True, env="LAB2_NOTEBOOK_TIMEOUT")
    disk_budget_mb = Integer(512, help="MiB one grading kernel may write in all (the size of its private /tmp).") \
        .tag(config=True, env="LAB2_DISK_BUDGET_MB")
    sandbox = Bool(help="Run each student's kernel in the bubblewrap sandbox (grading/jupyter/kernels/lab2-sandbox/); "
                   "without bwrap, autograde refuses; $LAB2_SANDBOX=off turns it off.").tag(config=True, env="LAB2_SANDBOX")
    zygote = Bool(help="Fork each sandboxed kernel from this process's kernel zygote (grading/zygote.py: torch and "
                  "ipykernel imported once, a fresh sandbox per notebook) instead of starting a new Python per notebook; "
                  "on when grading as root in the sandbox; $LAB2_ZYGOTE=off turns it off.") \
        .tag(config=True, env="LAB2_ZYGOTE")
    kernel_memory_gb = Float(6.0, help="Address space of one sandboxed kernel, GiB (torch alone maps about "
                             "3.7 GiB).").tag(config=True)
    kernel_cpu_seconds = Integer(600, help="CPU time of one sandboxed kernel, seconds.").tag(config=True)
    kernel_processes = Integer(256, help="Processes of one sandboxed kernel's own uid (when grading as root).") \
        .tag(config=True)
    kernel_file_mb = Integer(256, help="Largest file one sandboxed kernel may write, MiB.").tag(config=True)
    prestart = Bool(None, allow_none=True, help="Start the next notebook's kernel while this one is graded. "
                    "Default (None): when the same nbgrader run grades another submission after this one (the command "
                    "line's batch; the Formgrader grades one at a time and keeps no idle kernel); "
                    "tools/autograde_parallel.py's workers set it to True.").tag(config=True)

    def _from_environment(self, name):
        trait = self.traits()[name]
        value = os.environ.get(trait.metadata["env"])
        return trait.default_value if value is None else type(trait.default_value)(float(value))

    @default("cell_timeout")
    def _default_cell_timeout(self):
        return self._from_environment("cell_timeout")

    @default("notebook_timeout")
    def _default_notebook_timeout(self):
        return self._from_environment("notebook_timeout")

    @default("disk_budget_mb")
    def _default_disk_budget(self):
        return self._from_environment("disk_budget_mb")

    @default("sandbox")
    def _default_sandbox(self):
        return course.sandbox_on()  # also read where no SafeExecute exists yet (the pre-convert hook)

    @default("zygote")
    def _default_zygote(self):
        return zygote.available()

    @default("timeout_func")
    def _default_timeout_func(self):
        return self.cell_timeout_left

    @default("on_notebook_start")
    def _default_on_notebook_start(self):
        return self._kernel_answers

    def _kernel_answers(self, notebook=None):
        """nbclient's on_notebook_start: the kernel answers. How long this notebook waited for its kernel, and how
        long the kernel took to boot (it may have started while nbgrader stored the previous notebook)."""
        now = time.monotonic()
        self.grading.timing.update(kernel_wait=round(now - self.grading.start, 3),
                                   kernel_boot=round(now - self.grading.kernel.started, 3))
        self.kernel_ready(self.grading.kernel)

    def preprocess(self, nb, resources=None, km=None):
        """Grade one notebook. Whatever is raised here and is not the notebook's fault (NotebookFault, handled
        inside) is the grader's: a GraderBug, logged with the student and the test, and raised to nbgrader."""
        self.grading = NotebookGrading()
        try:
            return self._grade_notebook(nb, resources)
        except Exception as err:
            bug = err if isinstance(err, GraderBug) else GraderBug(self.grading.where, err)
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
        grading = self.grading
        grading.start = time.monotonic()
        grading.deadline = grading.start + self.notebook_timeout
        grading.timing = {"started_at": time.time(), "cells": []}
        grading.seed = secrets.randbits(62)  # this run's inputs: nobody can know them in advance
        self.nb = nb
        grading.findings = source_rules.scan_notebook(nb, executed(nb))
        grading.kernel = self.take_kernel()
        self.warm_next(resources)  # the next notebook's kernel boots while this one is graded
        try:
            nb, resources = super().preprocess(nb, resources, grading.kernel.km)
        except NotebookFault as fault:
            nb = getattr(self, "nb", None) or nb
            mark_unrun(nb, fault, self.log)
        finally:
            self.close_kernel(grading.kernel)
        grading.where = "the graded notebook's outputs"
        for cell in nb.cells:
            if cell.cell_type == "code" and not course.is_test(cell):
                cell.outputs = student_runs.safe_outputs(list(cell.get("outputs", [])))
            if course.meta(cell).get("grade_id") == rules_cell.CELL_ID:  # the rules' code, as handed out: not shown again
                cell.source = rules_cell.CELL_SHOWN
                cell.outputs = []
        grading.timing["total"] = round(time.monotonic() - grading.start, 3)
        nb.metadata["lab2_grading"] = {"decided_outside_the_kernel": True, "timing": grading.timing,
                                       "findings": [f.as_dict() for f in grading.findings]}
        return nb, resources

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """nbclient's, with the kernel's death or silence while the cell runs marked as the notebook's fault."""
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except KERNEL_FAULTS as err:
            raise KernelFault(err) from err

    execute_cell = run_sync(async_execute_cell)  # what nbconvert's preprocess_cell calls

    def preprocess_cell(self, cell, resources, index):
        start = time.monotonic()
        self.grading.where = course.meta(cell).get("grade_id") or f"cell {index + 1}"
        if student_runs.is_experiment(cell):
            student_runs.mark_student_run(cell)
            return cell, resources
        if course.is_test(cell):
            self._check_assign_resources(resources)
            run_sync(self._grade_test_cell)(cell, index)
            label = cell.metadata["nbgrader"]["grade_id"]
        elif course.meta(cell).get("grade_id") == rules_cell.CELL_ID:  # the advice's rules: silent under autograde
            cell.source = rules_cell.CELL_UNDER_AUTOGRADE
            cell, resources = super().preprocess_cell(cell, resources, index)
            label = rules_cell.CELL_ID
        elif course.meta(cell).get("grade_id") in RECORDED_CELLS:
            label = course.meta(cell)["grade_id"]
            cell, resources = self._run_recorded_cell(cell, resources, index, label)
        else:
            cell, resources = super().preprocess_cell(cell, resources, index)
            label = course.meta(cell).get("grade_id") or "student code"
        if cell.cell_type == "code":
            self.grading.timing["cells"].append([index, label, round(time.monotonic() - start, 3)])
            self.check_disk()
        return cell, self.resources

    async def _probe_line(self, source, index):
        """One request of the grader's in the kernel, out of the notebook: its outputs, each display_data with its
        binary buffers (the notebook's cell at `index` stays the one there: nbclient stores the cell it executed at its
        index)."""
        cell, probe = self.nb.cells[index], NotebookNode(cell_type="code", source=source, metadata={}, outputs=[])
        self.grading.grader_request = True
        try:
            await self.async_execute_cell(probe, index, store_history=False)
        finally:
            self.grading.grader_request = False
            self.nb.cells[index] = cell
        return probe.outputs

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's, with a display_data's binary buffers kept under BUFFERS during a grader's request (the probe's
        arrays); never in a cell of the notebook, whose outputs are JSON."""
        out = super().output(outs, msg, display_id, cell_index)
        if self.grading.grader_request and out is not None and out.get("output_type") == "display_data":
            out[BUFFERS] = [bytes(buffer) for buffer in msg.get("buffers") or []]
        return out

    def _run_recorded_cell(self, cell, resources, index, grade_id):
        """An answer cell of a part with rules, run as any cell, with the probe recording what it runs meanwhile
        (grading/lab2_grader.py: defined_within_rules judges it)."""
        token = secrets.token_hex(8)
        begin, end = cell_requests(token, grade_id)
        run_sync(self._probe_line)(begin, index)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            self.nb.cells[index] = cell
        outputs = run_sync(self._probe_line)(end, index)
        message, _ = probe_message(outputs, token)
        self.grading.definitions[parts.part_of(grade_id).name] = lab2_grader.definition(grade_id, token, message)
        return cell, resources

    async def _grade_test_cell(self, cell, index):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        visible, call = split_test(cell.source, grade_id)
        token = secrets.token_hex(8)
        plan = lab2_grader.plan(grade_id, self.grading.seed + index, token)
        source, cell.source = cell.source, visible
        try:
            await self.async_execute_cell(cell, index, store_history=True)
        finally:
            cell.source = source
        kernel_outputs = cell.outputs
        self.nb.cells[index] = cell  # nbclient stores the cell it executed at its index
        try:
            probe_outputs = await self._probe_line(probe_request(call, plan), index)
        except NotebookFault:
            cell.outputs = shown(kernel_outputs)  # no verdict: mark_unrun gives it the fault's message
            raise
        message, kernel_error = probe_message(probe_outputs, token)
        on_data = lab2_grader.judge(grade_id, plan, message, kernel_error)
        on_data = lab2_grader.defined_within_rules(grade_id, on_data, self.grading.definitions)
        verdict = lab2_grader.overrule(grade_id, index, on_data, self.grading.findings)
        cell.outputs = shown(kernel_outputs) + verdict_outputs(verdict)
        cell.metadata["lab2"] = {"verdict": "pass" if verdict.passed else "fail", "mistake": verdict.mistake,
                                 "message": verdict.message, "data_mistake": on_data.mistake}
