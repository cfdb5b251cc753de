"""The budgets of one notebook under autograde: a cell's time, the whole notebook's time, and the disk its kernel
writes. A first cell timeout interrupts the cell (an interruptible endless loop costs that cell only); a second one
means the kernel no longer answers, and grading of the notebook stops there (KernelFault). The notebook's deadline
and a full disk stop it too (BudgetExceeded). The limits are SafeExecute's settings (cell_timeout,
notebook_timeout, disk_budget_mb)."""
import math
import time

from nbclient.exceptions import CellTimeoutError

from grading.faults import BudgetExceeded
from grading.kernels import sandbox_tmp


class Budgets:
    """SafeExecute's budgets (a mixin of nbclient's NotebookClient); the notebook's state is self.grading."""

    def cell_timeout_left(self, cell):
        """nbclient's timeout_func: a cell may run cell_timeout seconds, and never past the notebook's deadline;
        when the deadline is the nearer, the timeout is the notebook's (a budget), not the cell's."""
        left = self.grading.deadline - time.monotonic()
        if left <= 0:
            raise BudgetExceeded("time", f"{self.notebook_timeout:.0f} s for the whole notebook")
        timeout = self.cell_timeout
        self.grading.budget_bound = not timeout or left < timeout
        return math.ceil(left if self.grading.budget_bound else timeout)

    # nbclient has no hook for a timeout: which timeout it was (the cell's or the notebook's, the first or the second)
    # decides between interrupting the cell and stopping the notebook, so its handler is overridden
    async def _async_handle_timeout(self, timeout, cell=None):
        if self.grading.budget_bound or time.monotonic() >= self.grading.deadline:
            raise BudgetExceeded("time", f"{self.notebook_timeout:.0f} s for the whole notebook")
        self.grading.timeouts += 1
        if self.grading.timeouts > 1:
            raise CellTimeoutError.error_from_timeout_and_cell("the kernel stopped answering", timeout, cell)
        return await super()._async_handle_timeout(timeout, cell)

    def check_disk(self):
        usage = sandbox_tmp(self.km)
        if usage and usage[1] - usage[0] < (1 << 20):
            raise BudgetExceeded("disk", f"{usage[1] >> 20} MiB for everything the kernel writes")
