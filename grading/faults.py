"""Who is at fault when grading of a notebook stops. Only what is known to come from the student's kernel is the
notebook's fault (NotebookFault): the kernel's death or silence while a cell runs (KernelFault), an exceeded budget
(BudgetExceeded); a cell's error in the kernel costs nothing by itself, and data from the kernel that fails
validation fails its test (grading/lab2_grader.py). Any other exception in the grading process is a GraderBug.

When a NotebookFault stops a notebook, the cells that ran keep their outputs and points; the cell that was running
and every later one get an error output that says what happened (they score 0), and the notebook is flagged for
the TA's review (metadata 'lab2_needs_review', which tools/integrity_report.py lists).
"""
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

import course
from grading import judging, student_runs

# What nbclient raises when the kernel, while it runs a cell, dies or stops answering: the notebook's fault.
KERNEL_FAULTS = (DeadKernelError, CellTimeoutError)


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


def has_run(cell):
    return "shell.execute_reply" in cell.get("metadata", {}).get("execution", {})


def decided(cell):
    return "verdict" in cell.get("metadata", {}).get("lab2", {})


def mark_unrun(nb, fault, log):
    """The cells that did not run (and the tests not decided) after a NotebookFault: an error output with the
    reason, so they score 0; the notebook flagged for review."""
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
    log.warning("grading stopped in cell %d (%s): %s", first + 1, fault.name, fault)
    nb.metadata["lab2_needs_review"] = {"cell": first + 1, "fault": fault.name if kind == "fault" else
                                        {"time": "NotebookTimeBudget", "disk": "DiskBudget"}[kind],
                                        "detail": str(fault)[:500]}
    for i in unrun:
        output = NotebookNode(output_type="error", ename="GradingStopped", evalue=reason,
                              traceback=[f"GradingStopped: {reason}"])
        nb.cells[i].outputs = list(nb.cells[i].get("outputs", [])) + [output]
        if course.is_test(nb.cells[i]):
            nb.cells[i].metadata["lab2"] = {"verdict": "fail", "mistake": judging.GRADING_STOPPED,
                                            "message": reason, "data_mistake": judging.GRADING_STOPPED}
