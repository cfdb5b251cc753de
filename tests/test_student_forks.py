"""The fork server of the student's kernels (tests/student_forks.py, used by tests/student_kernel.py): each notebook
gets a real kernel, a new process forked from the warm server, that nothing of an earlier notebook reaches; nothing
outlives the run; a kernel that dies, however it dies, is dead to nbclient as a fresh kernel is; nothing keeps the
run waiting; the advice is the same as in fresh `python3` kernels (the fallback)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

import student_forks
from conftest import RELEASE_NB, SOURCE_NB
from corpus import CORRECT, MISTAKE, corpus, submission
from course import read

pytestmark = [pytest.mark.slow,  # a server (torch's import), a few forked kernels and two fresh ones: about 30 s
              pytest.mark.skipif(sys.platform != "linux" or not hasattr(os, "pidfd_open"), reason="Linux's pidfds")]

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def server():
    server = student_forks.start()
    assert server, "the fork server did not start"
    return server


def run(server, *sources):
    """Run cells in a forked kernel; what they printed, one string per cell."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    with tempfile.TemporaryDirectory() as folder:
        km = server.manager(transport="ipc", ip=os.path.join(folder, "kernel"))
        try:
            NotebookClient(nb, km=km, timeout=60, allow_errors=True, resources={"metadata": {"path": folder}}).execute()
        finally:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
    return ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells]


WHO = ("import os, sys; print(os.getpid(), os.getsid(0) == os.getpid(), 'torch' in sys.modules, "
       f"'grading' not in sys.modules, sys.argv[0].endswith('ipykernel_launcher.py'), {str(HERE)!r} not in sys.path)")
LEAVE = "import numpy, torch; print(getattr(torch, 'left_here', None), numpy.random.randint(1 << 30)); torch.left_here = 1"


def test_each_notebook_gets_a_new_process_forked_from_the_warm_server(server):
    first, second = run(server, WHO, LEAVE), run(server, WHO, LEAVE)
    print(first, second)
    for who, _ in (first, second):
        assert who.split()[1:] == ["True"] * 5, who  # own session; torch came with the fork, the grader did not
    assert first[0].split()[0] != second[0].split()[0], "the same process ran both notebooks"
    assert first[1].split()[0] == second[1].split()[0] == "None", "the first notebook's change reached the second"
    assert first[1].split()[1] != second[1].split()[1], "numpy drew the same numbers in both kernels"


def test_nothing_outlives_a_run_that_is_killed():
    """The run (student_kernel.py's process) killed: its server, the kernel's holder and the kernel go with it."""
    script = ("import os, sys, tempfile, time; sys.path.insert(0, %r); import student_forks\n"
              "from jupyter_core.utils import run_sync\n"
              "server = student_forks.start(); folder = tempfile.mkdtemp()\n"
              "km = server.manager(transport='ipc', ip=os.path.join(folder, 'kernel'))\n"
              "run_sync(km.start_kernel)(cwd=folder)\n"
              "print(server.process.pid, km.provisioner.pid, flush=True); time.sleep(600)\n") % str(HERE)
    run_ = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in run_.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids), pids
    run_.send_signal(signal.SIGKILL)
    run_.wait()
    end = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids), f"still running: {[p for p in pids if alive(p)]}"


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_forked_and_fresh_kernels_give_the_same_advice(tmp_path):
    source, release = read(SOURCE_NB), read(RELEASE_NB)
    variants = corpus(source)
    chosen = [next(v for v in variants if v.kind == CORRECT), next(v for v in variants if v.kind == MISTAKE)]
    paths = []
    for v in chosen:
        nbformat.write(submission(release, source, v), str(tmp_path / f"{v.name}.ipynb"))
        paths.append(str(tmp_path / f"{v.name}.ipynb"))
    off = subprocess.run([sys.executable, "-c", "import student_forks; print(student_forks.start())"], cwd=HERE,
                         env=dict(os.environ, LAB2_STUDENT_FORKS="off"), capture_output=True, text=True, check=True)
    assert off.stdout == "None\n", off.stdout  # "off": fresh `python3` kernels
    said = {}
    for forks in ("on", "off"):
        subprocess.run([sys.executable, str(HERE / "student_kernel.py"), str(tmp_path / f"{forks}.json"), *paths],
                       check=True, env=dict(os.environ, LAB2_STUDENT_FORKS=forks))
        said[forks] = json.loads((tmp_path / f"{forks}.json").read_text(encoding="utf-8"))
    print(said["on"])
    assert all(said["on"][p] and "__error__" not in said["on"][p] for p in paths), said["on"]
    assert said["on"] == said["off"]


# A cell that ends its kernel, each way a student's code can; the cell after it never runs.
DEATHS = {
    "exits": "import os; os._exit(3)",
    "kills_itself": "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "kills_its_process_group": "import os, signal; os.killpg(0, signal.SIGKILL)",
    "forks_and_exits": "import os, time\nif os.fork():\n    os._exit(0)\ntime.sleep(600)",  # a child holds its sockets
}
# Only a forked kernel's parent is its holder (a fresh kernel's is the run itself): the holder stopped, killed, or the
# server killed, the holder cannot say (or no longer can say) that the kernel died.
HOLDER = "os.getppid()"
SERVER = "int(open(f'/proc/{os.getppid()}/stat').read().rsplit(')', 1)[1].split()[1])"
FORKED_DEATHS = {
    "stops_its_holder_and_exits": f"import os, signal; os.kill({HOLDER}, signal.SIGSTOP); os._exit(0)",
    "stops_its_holder_and_kills_itself": f"import os, signal; os.kill({HOLDER}, signal.SIGSTOP); "
                                         "os.kill(os.getpid(), signal.SIGKILL)",
    "kills_its_holder": f"import os, signal; os.kill({HOLDER}, signal.SIGKILL)",
    "kills_the_server": f"import os, signal; os.kill({SERVER}, signal.SIGKILL)",
}
AFTER = "print('still running')"
DEAD = {"__error__": "DeadKernelError: Kernel died"}


def advice_run(tmp_path, forks, cells, seconds=None):
    """tests/student_kernel.py on one notebook per entry of `cells` (name -> its cells), and after them a healthy
    one: {name: what it recorded}. The run itself is bounded: it hanging fails the test."""
    paths = {}
    for name, sources in {**cells, "healthy_after": ["print('ok')"]}.items():
        paths[name] = tmp_path / forks / f"{name}.ipynb"
        paths[name].parent.mkdir(exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]),
                       str(paths[name]))
    env = dict(os.environ, LAB2_STUDENT_FORKS=forks)
    if seconds:
        env["LAB2_ADVICE_NOTEBOOK_SECONDS"] = str(seconds)
    out = tmp_path / f"{forks}.json"
    try:
        subprocess.run([sys.executable, str(HERE / "student_kernel.py"), str(out), *map(str, paths.values())],
                       check=True, env=env, timeout=120 + 20 * len(paths) + (seconds or 0) * len(cells))
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the advice run hung (LAB2_STUDENT_FORKS={forks})") from None
    said = json.loads(out.read_text(encoding="utf-8"))
    return {name: said[str(path)] for name, path in paths.items()}


def test_a_kernel_that_dies_is_dead_to_nbclient_forked_or_fresh(tmp_path):
    """Each death gives DeadKernelError in a forked kernel as in a fresh one, and the next notebook runs."""
    cells = {name: [code, AFTER] for name, code in DEATHS.items()}
    said = {forks: advice_run(tmp_path, forks, cells) for forks in ("on", "off")}
    print(said)
    assert said["on"] == said["off"] == {**{name: DEAD for name in DEATHS}, "healthy_after": {}}


def test_a_kernel_that_stops_or_kills_its_holder_or_the_server_keeps_no_one_waiting(tmp_path):
    """The holder stopped, then the kernel gone: it cannot relay the kernel's end, the kernel's pidfd tells. The
    holder or the server killed: the kernel is dead to nbclient or its notebook ends (the holder's socket says the
    kernel is gone; it is killed with its process group at shutdown); either way the next notebook runs, on a new
    server where the old one died."""
    cells = {name: [code, AFTER] for name, code in FORKED_DEATHS.items()}
    said = advice_run(tmp_path, "on", cells)
    print(said)
    assert said["healthy_after"] == {}
    assert {name: said[name] for name in FORKED_DEATHS if name.startswith("stops")} == {
        name: DEAD for name in FORKED_DEATHS if name.startswith("stops")}
    assert all(said[name] in (DEAD, {}) for name in FORKED_DEATHS), said


def test_a_notebook_past_its_time_has_its_kernel_killed_forked_or_fresh(tmp_path):
    """The backstop: each cell within its 60 s, the notebook past its limit (here 15 s): its kernel is killed and
    the notebook recorded as its kernel's failure; the next one runs."""
    cells = {"sleeps": ["import time; time.sleep(10)"] * 4 + [AFTER]}
    said = {forks: advice_run(tmp_path, forks, cells, seconds=15) for forks in ("on", "off")}
    print(said)
    for forks in ("on", "off"):
        assert said[forks]["healthy_after"] == {}
        assert said[forks]["sleeps"]["__error__"].startswith("TimeoutError: the notebook ran past 15 s"), said[forks]
    assert said["on"] == said["off"]
