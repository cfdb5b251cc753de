"""grading/kernels.py: one kernel per notebook in a folder of its own, the sandbox's limits, no grading without
bwrap when the sandbox is on."""
import os
import re
import shutil
import signal

import nbformat
import pytest
from jupyter_core.utils import run_sync

from course import ROOT
from grading import kernels
from grading.lab2_grader import GraderBug
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


def _started(monkeypatch, ipython_dir=None):
    """A plain (unsandboxed) kernel as SafeExecute starts one, with a client whose channels are started."""
    if ipython_dir:
        monkeypatch.setenv("IPYTHONDIR", str(ipython_dir))
    execute = SafeExecute(sandbox=False)
    execute.nb = nbformat.v4.new_notebook()
    kernel = execute.take_kernel()
    client = kernel.km.client()
    client.start_channels()
    return execute, kernel, client


def _run(client, code):
    """The iopub messages of one execution, up to its idle status."""
    msg_id = client.execute(code)
    messages = []
    while True:
        message = run_sync(client.get_iopub_msg)(timeout=60)
        if message["parent_header"].get("msg_id") == msg_id:
            messages.append(message)
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return messages


def test_a_kernel_is_ready_once_it_answers_and_its_iopub_brings_the_answer(monkeypatch):
    execute, kernel, client = _started(monkeypatch)
    try:
        assert isinstance(client, kernels.ReadyClient)
        run_sync(client.wait_for_ready)(timeout=120)
        run_sync(client.wait_for_ready)(timeout=120)  # asked again of a kernel that is up: ready again
        streams = [m["content"]["text"] for m in _run(client, "print(6 * 7)") if m["msg_type"] == "stream"]
        assert streams == ["42\n"], streams
    finally:
        client.stop_channels()
        execute.close_kernel(kernel)


def test_a_kernel_that_died_is_not_waited_for(monkeypatch):
    execute, kernel, client = _started(monkeypatch)
    try:
        run_sync(client.wait_for_ready)(timeout=120)
        process = kernel.km.provisioner.process
        os.kill(process.pid, signal.SIGKILL)  # the kernel crashes
        process.wait()
        with pytest.raises(RuntimeError, match="died"):
            run_sync(client.wait_for_ready)(timeout=120)
    finally:
        client.stop_channels()
        execute.close_kernel(kernel)


def test_the_grading_kernels_tracebacks_are_plain(monkeypatch, tmp_path):
    """grading/ipython/ (every grading kernel's IPython folder) sets plain tracebacks: each frame's cell, line and
    statement, the error's name and message, without IPython's default context (its cost is in benchmarks/README.md)."""
    ipython_dir = shutil.copytree(ROOT / "grading" / "ipython", tmp_path / "ipython")  # a copy, as the sandbox's
    execute, kernel, client = _started(monkeypatch, ipython_dir=ipython_dir)
    try:
        run_sync(client.wait_for_ready)(timeout=120)
        errors = [m["content"] for m in _run(client, "def f(x):\n    return x / 0\n\nf(1)") if m["msg_type"] == "error"]
        assert len(errors) == 1 and errors[0]["ename"] == "ZeroDivisionError", errors
        text = re.sub(r"\x1b\[[0-9;]*m", "", "".join(errors[0]["traceback"]))
        assert text.startswith("Traceback (most recent call last)"), text
        assert "return x / 0" in text and "ZeroDivisionError: division by zero" in text, text
        assert "-----" not in text, text  # the default (Context) mode's header
    finally:
        client.stop_channels()
        execute.close_kernel(kernel)


def test_a_kernel_that_cannot_start_says_why():
    """Its last lines on stderr before it was ready reach the grader bug's message: here the import that failed."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    execute = SafeExecute(sandbox=False, prestart=False, startup_timeout=60,
                          extra_arguments=["--IPKernelApp.kernel_class=lab2_no_such_module.Kernel"])
    with pytest.raises(GraderBug, match=r"Kernel died before replying to kernel_info; the kernel's last lines on "
                                        r"stderr: .*'lab2_no_such_module\.Kernel' could not be imported"):
        execute.preprocess(nb, {"nbgrader": {"student": "s1"}})


def test_autograde_refuses_in_one_message_where_bwrap_cannot_build_namespaces(monkeypatch, tmp_path):
    """As a user who is not root on a machine that allows no unprivileged user namespaces, bwrap fails as this stand-in
    does (its own message, exit 1): autograde stops before anything, saying what to do."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the kernel does "
                    "not allow non-privileged user namespaces.' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("LAB2_SANDBOX", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    kernels.namespaces_refused.cache_clear()
    try:
        with pytest.raises(kernels.SandboxMissing, match=r"(?s)Autograde refused: bubblewrap cannot build the sandbox "
                           r"as .* bwrap said: bwrap: No permissions to creating new namespace.*LAB2_SANDBOX=off"):
            kernels.refuse_without_sandbox()
    finally:
        kernels.namespaces_refused.cache_clear()
