"""Run submissions as a student runs them: each in a plain Jupyter kernel of its own (no grading probe, no
sandbox), the experiment cells left out; collect what each visible test's advice (grading/rules/advice.py: advise) said.
Each kernel is forked from a Python that has imported torch once for the run (tests/student_forks.py); where that
server cannot start, each is a fresh `python3` kernel.

    python tests/student_kernel.py OUT.json NOTEBOOK ...   # {notebook: {grade id: mistake id, or "" for none}}
"""
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient

import student_forks
from grading import student_runs
from grading.rules import advice

ADVICE = re.compile(rf"^{re.escape(advice.MARK)}(\w+): (\S+)")


def advice_of(path):
    """grade id -> the mistake id the advice named for it ("" when it found nothing); a test whose advice did not
    run (the kernel was broken on purpose) is missing."""
    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [c for c in nb.cells if not student_runs.is_experiment(c)]
    for attempt in range(3):  # a kernel that died while starting (not the student's code: it has not run yet)
        with tempfile.TemporaryDirectory() as folder:
            server, ip = student_forks.start(), os.path.join(folder, "kernel")
            km = server.manager(transport="ipc", ip=ip) if server else \
                KernelManager(kernel_name="python3", transport="ipc", ip=ip)
            client = NotebookClient(nb, km=km, timeout=60, startup_timeout=120, allow_errors=True,
                                    resources={"metadata": {"path": folder}},
                                    skip_cells_with_tag="lab2-never-skip")  # Jupyter runs a cell whatever its tags
            try:
                client.execute()
                break
            except RuntimeError as err:
                if "before replying to kernel_info" not in str(err) or attempt == 2:
                    raise
            finally:  # nbclient leaves a kernel it was handed running: idle kernels holding torch would fill the memory
                if km.has_kernel:
                    km.shutdown_kernel(now=True)
    said = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                hit = ADVICE.match(line)
                if hit and hit.group(1) not in said:  # the first (and weightiest) rule it names
                    said[hit.group(1)] = "" if hit.group(2).startswith("没有发现") else hit.group(2)
    return said


def main():
    out, notebooks = sys.argv[1], sys.argv[2:]
    results = {}
    for path in notebooks:
        try:
            results[path] = advice_of(path)
        except Exception as err:  # a kernel that a trick killed: nothing was said
            results[path] = {"__error__": f"{type(err).__name__}: {err}"[:300]}
    Path(out).write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
