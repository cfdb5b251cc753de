"""Run submissions as a student runs them: each in a plain Jupyter kernel of its own (no grading probe, no
sandbox), the experiment cells left out; collect what each visible test's advice (grading/rules/advice.py: advise) said.
Each kernel is forked from a Python that has imported torch once for the run (tests/student_forks.py); where that
server cannot start, each is a fresh `python3` kernel. Nothing can keep the run waiting: a cell has 60 s, and a
notebook that runs past NOTEBOOK_SECONDS has its kernel killed (its result: the kernel's failure, as a trick that
kills its kernel gets).

    python tests/student_kernel.py OUT.json NOTEBOOK ...   # {notebook: {grade id: mistake id, or "" for none}}
"""
import json
import os
import re
import signal
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

import student_forks
from grading import kernels, student_runs
from grading.rules import advice

ADVICE = re.compile(rf"^{re.escape(advice.MARK)}(\w+): (\S+)")
# one notebook's whole run, its kernel's start included (a few seconds; a cell has 60 s)
NOTEBOOK_SECONDS = int(os.environ.get("LAB2_ADVICE_NOTEBOOK_SECONDS", "300"))
SERVER_SECONDS = 30     # then, if it still waits, the fork server too (whatever it waits on is no kernel's)


class Watchdog:
    """Kills the notebook's kernel (its process group and its process) once it has run NOTEBOOK_SECONDS: nbclient
    sees its kernel die (DeadKernelError), as when a trick kills it; SERVER_SECONDS later, if the run still waits,
    the fork server goes too (it is started again for the next notebook)."""

    def __init__(self, km, server):
        self.km, self.server, self.fired = km, server, False
        self.timers = [threading.Timer(NOTEBOOK_SECONDS, self.kill_kernel)]
        if server:
            self.timers.append(threading.Timer(NOTEBOOK_SECONDS + SERVER_SECONDS, lambda: server.process.kill()))

    def kill_kernel(self):
        self.fired = True
        provisioner = self.km.provisioner
        for pid, kill in ((getattr(provisioner, "pgid", None), os.killpg), (getattr(provisioner, "pid", None), os.kill)):
            if pid:
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def __enter__(self):
        for timer in self.timers:
            timer.daemon = True
            timer.start()
        return self

    def __exit__(self, *exc):
        for timer in self.timers:
            timer.cancel()


def advice_of(path):
    """grade id -> the mistake id the advice named for it ("" when it found nothing); a test whose advice did not
    run (the kernel was broken on purpose) is missing."""
    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [c for c in nb.cells if not student_runs.is_experiment(c)]
    with tempfile.TemporaryDirectory() as folder:
        run_notebook(nb, folder)
    said = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                hit = ADVICE.match(line)
                if hit and hit.group(1) not in said:  # the first (and weightiest) rule it names
                    said[hit.group(1)] = "" if hit.group(2).startswith("没有发现") else hit.group(2)
    return said


def run_notebook(nb, folder, python=None):
    """Run nb's cells (in place) as Jupyter runs them all for a student: in order, each error kept, `folder` the
    kernel's working folder. The kernel is forked from this run's warm Python (tests/student_forks.py), else a fresh
    `python3`; with `python` (another environment's interpreter, with ipykernel), a fresh kernel of that Python."""
    for attempt in range(3):  # a kernel that died while starting (not the student's code: it has not run yet)
        with tempfile.TemporaryDirectory() as sockets:
            server = student_forks.start() if python is None else None
            # an AsyncKernelManager: with a blocking one, nbclient's event loop waits on IOPub in a blocking call,
            # forever once a kernel dies mid-cell (no timeout and no check for a dead kernel can run then)
            # ReadyClient: ready once the kernel answers (jupyter_client's own waits 0.2 s more per notebook)
            options = {"transport": "ipc", "ip": os.path.join(sockets, "kernel"), "client_class": kernels.READY_CLIENT}
            if server:
                km = server.manager(**options)
            elif python:
                km = AsyncKernelManager(kernel_name="student", kernel_spec_manager=_python_spec(python, sockets),
                                        **options)
            else:
                km = AsyncKernelManager(kernel_name="python3", **options)
            client = NotebookClient(nb, km=km, timeout=60, startup_timeout=120, allow_errors=True,
                                    resources={"metadata": {"path": str(folder)}},
                                    skip_cells_with_tag="lab2-never-skip")  # Jupyter runs a cell whatever its tags
            watchdog = Watchdog(km, server)
            try:
                with watchdog:
                    client.execute()
                return nb
            except Exception as err:
                if watchdog.fired:
                    raise TimeoutError(f"the notebook ran past {NOTEBOOK_SECONDS} s: its kernel was killed "
                                       f"({type(err).__name__}: {err})") from err
                if not isinstance(err, RuntimeError) or "before replying to kernel_info" not in str(err) or attempt == 2:
                    raise
            finally:  # nbclient leaves a kernel it was handed running: idle kernels holding torch would fill the memory
                if km.has_kernel:
                    run_sync(km.shutdown_kernel)(now=True)


def _python_spec(python, folder):
    """A kernelspec named "student" for another environment's Python, in `folder`: ipykernel's own (python -m
    ipykernel_launcher -f CONNECTION_FILE), as `python -m ipykernel install` writes it there."""
    os.makedirs(os.path.join(folder, "student"))
    with open(os.path.join(folder, "student", "kernel.json"), "w") as f:
        json.dump({"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "student", "language": "python"}, f)
    return KernelSpecManager(kernel_dirs=[folder])


def main():
    out, notebooks = sys.argv[1], sys.argv[2:]
    results = {}
    for path in notebooks:
        try:
            results[path] = advice_of(path)
        except Exception as err:  # a kernel that a trick killed: nothing was said
            results[path] = {"__error__": f"{type(err).__name__}: {err}"[:300]}
        Path(out).write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")  # a run stopped keeps these


if __name__ == "__main__":
    main()
