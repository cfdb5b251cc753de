"""nbgrader's Execute preprocessor, made safe for one faulty submission.

Plain nbgrader stops grading a student when the kernel dies (os._exit, a segfault, the memory limit)
or stops answering, and records nothing for that student. Here the cells that ran keep their
outputs and therefore their points; the cell that was running and every later cell get an error
output that says what happened, so they score 0, and the notebook is flagged for the TA to review
(metadata 'lab2_needs_review', which tools/integrity_report.py lists).
"""
import asyncio

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

# Whatever stops the execution of one student's notebook is that notebook's fault, not the batch's.
FAULTS = (Exception, asyncio.CancelledError)


def ran(cell):
    return "shell.execute_reply" in cell.get("metadata", {}).get("execution", {})


class SafeExecute(Execute):
    """A first timeout interrupts the cell (an interruptible endless loop costs that cell only);
    a second one means the kernel no longer answers, and grading of this notebook stops there."""

    async def _async_handle_timeout(self, timeout, cell=None):
        self._lab2_timeouts = getattr(self, "_lab2_timeouts", 0) + 1
        if self._lab2_timeouts > 1:
            raise CellTimeoutError.error_from_timeout_and_cell("the kernel stopped answering", timeout, cell)
        return await super()._async_handle_timeout(timeout, cell)

    def preprocess(self, nb, resources=None, km=None):
        self._lab2_timeouts = 0
        try:
            return super().preprocess(nb, resources, km)
        except FAULTS as err:
            nb = getattr(self, "nb", None) or nb
            self._mark_unrun(nb, err)
            try:  # the kernel may be dead or still spinning: make sure it is gone
                if getattr(self, "km", None) is not None and self.km.has_kernel:
                    run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:
                pass
            return nb, resources

    def _mark_unrun(self, nb, err):
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        unrun = [i for i in code if not ran(nb.cells[i])]
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
