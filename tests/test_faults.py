"""grading/faults.py: what stops a notebook and is the notebook's fault, and the cells it leaves unrun."""
import logging

import nbformat
from nbclient.exceptions import DeadKernelError

from grading.faults import BudgetExceeded, KernelFault, NotebookFault, has_run, mark_unrun


def notebook():
    ran = nbformat.v4.new_code_cell("x = 1", metadata={"execution": {"shell.execute_reply": "now"}})
    test_ran = nbformat.v4.new_code_cell("check(x)", metadata={
        "nbgrader": {"grade": True, "grade_id": "relu_value", "points": 1, "solution": False, "locked": True},
        "execution": {"shell.execute_reply": "now"}, "lab2": {"verdict": "pass"}})
    unrun = nbformat.v4.new_code_cell("y = 2")
    test_unrun = nbformat.v4.new_code_cell("check(y)", metadata={
        "nbgrader": {"grade": True, "grade_id": "relu_derivative", "points": 1, "solution": False, "locked": True}})
    return nbformat.v4.new_notebook(cells=[ran, test_ran, unrun, test_unrun])


def test_the_kernels_faults_are_the_notebooks():
    assert issubclass(KernelFault, NotebookFault) and issubclass(BudgetExceeded, NotebookFault)
    assert KernelFault(DeadKernelError("gone")).name == "DeadKernelError"
    assert BudgetExceeded("disk", "512 MiB").kind == "disk"


def test_the_cells_after_a_fault_score_zero_and_the_notebook_waits_for_review():
    nb = notebook()
    mark_unrun(nb, KernelFault(DeadKernelError("gone")), logging.getLogger("test"))
    assert [c.get("outputs", []) for c in nb.cells[:2]] == [[], []]  # the cells that ran keep what they had
    for cell in nb.cells[2:]:
        assert cell.outputs[-1].ename == "GradingStopped" and "第 3 个单元" in cell.outputs[-1].evalue
    assert nb.cells[3].metadata["lab2"]["mistake"] == "grading_stopped"
    assert nb.metadata["lab2_needs_review"] == {"cell": 3, "fault": "DeadKernelError", "detail": "gone"}
    assert has_run(nb.cells[0]) and not has_run(nb.cells[2])


def test_a_budget_names_itself():
    nb = notebook()
    mark_unrun(nb, BudgetExceeded("time", "600 s for the whole notebook"), logging.getLogger("test"))
    assert nb.metadata["lab2_needs_review"]["fault"] == "NotebookTimeBudget"
    assert "整体运行时间预算(600 s for the whole notebook)" in nb.cells[2].outputs[-1].evalue
