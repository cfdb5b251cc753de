"""grading/budgets.py: a cell's timeout, never past the notebook's deadline; which timeout stops the notebook."""
import asyncio
import time

import pytest
from nbclient.exceptions import CellTimeoutError

from grading.faults import BudgetExceeded
from grading.safe_execute import NotebookGrading, SafeExecute


def driver(left, cell_timeout=120):
    execute = SafeExecute(cell_timeout=cell_timeout, notebook_timeout=600, sandbox=False)
    execute.grading = NotebookGrading(deadline=time.monotonic() + left)
    return execute


def test_a_cell_gets_its_own_timeout_while_the_deadline_is_far():
    execute = driver(left=500)
    assert execute.timeout_func == execute.cell_timeout_left  # nbclient's public hook, not its _get_timeout
    assert execute.cell_timeout_left(None) == 120 and not execute.grading.budget_bound


def test_near_the_deadline_the_timeout_is_the_notebooks():
    execute = driver(left=30.2)
    assert execute.cell_timeout_left(None) == 31 and execute.grading.budget_bound
    with pytest.raises(BudgetExceeded, match="600 s for the whole notebook"):
        asyncio.run(execute._async_handle_timeout(31))


def test_past_the_deadline_no_cell_starts():
    with pytest.raises(BudgetExceeded):
        driver(left=-1).cell_timeout_left(None)


def test_a_second_cell_timeout_means_the_kernel_no_longer_answers():
    execute = driver(left=500)
    execute.grading.timeouts = 1  # the first one interrupted its cell
    with pytest.raises(CellTimeoutError, match="stopped answering"):
        asyncio.run(execute._async_handle_timeout(120))
