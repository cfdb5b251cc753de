"""grading/kernels.py: one kernel per notebook in a folder of its own, the sandbox's limits, no grading without
bwrap when the sandbox is on."""
import os

import nbformat
import pytest

from grading import kernels
from grading.safe_execute import SafeExecute


def test_autograde_refuses_before_anything_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("LAB2_SANDBOX", raising=False)
    with pytest.raises(kernels.SandboxMissing):
        kernels.refuse_without_sandbox()
    monkeypatch.setenv("LAB2_SANDBOX", "off")
    kernels.refuse_without_sandbox()  # the sandbox is off: nothing to refuse


def test_the_limits_are_the_settings_in_the_launchers_units():
    execute = SafeExecute(disk_budget_mb=100, kernel_memory_gb=2.0, kernel_cpu_seconds=60, kernel_processes=32,
                          kernel_file_mb=10, sandbox=False)
    assert execute.limits() == {"disk_bytes": 100 << 20, "address_space_bytes": 2 << 30, "cpu_seconds": 60,
                                "processes": 32, "file_bytes": 10 << 20}


def test_a_kernel_starts_in_its_own_folder_and_is_closed_with_it():
    execute = SafeExecute(sandbox=False)
    execute.nb = nbformat.v4.new_notebook()
    kernel = execute.take_kernel()
    try:
        assert os.path.isdir(kernel.folder) and kernel.started > 0
        assert execute.take_kernel.__func__ is kernels.SandboxedKernels.take_kernel
    finally:
        execute.close_kernel(kernel)
    assert not os.path.exists(kernel.folder) and kernels.sandbox_tmp(kernel.km) is None
