"""The kernel zygote (grading/zygote.py): attacks on the fork itself, through real sandboxed kernels that
SafeExecute starts (its own _new_kernel, the zygote on). Every child is its own process in its own namespaces, as root
under its own uid, as another user in a user namespace of its own: nothing one student's kernel does reaches a sibling,
the next child or the zygote. These tests run as root and, through tests/test_rootless.py, as a user who is not root.
(The whole attack corpus through the zygote: tests/test_sandbox.py and tests/test_corpus.py, which grade with the
zygote on.)"""
import json
import os
import queue
import shutil
import signal
import time
from collections import Counter

import nbformat
import pytest
from jupyter_core.utils import run_sync

from grading import kernels as kernel_lifecycle, safe_execute, zygote
from grading.lab2_grader import GraderBug
from grading.safe_execute import SafeExecute

pytestmark = [pytest.mark.slow,  # starts a zygote (torch's import, once) and a dozen kernels: about 30 s
              pytest.mark.skipif(not zygote.available() or shutil.which("bwrap") is None,
                                 reason="the zygote needs bubblewrap, and root or unprivileged user namespaces "
                                        "(CI has both)")]
ROOTLESS = os.geteuid() != 0


# what the zygote and a kernel must not see of the course: its code (the grader, this zygote's own script), its data
COURSE_FILES = [safe_execute.__file__, zygote.__file__, zygote.SERVER,
                os.path.join(os.path.dirname(zygote.SERVER), "kernel.json")]


class Kernel:
    """A grading kernel as SafeExecute starts it: sandboxed, forked by the zygote."""

    def __init__(self, **settings):
        grader = SafeExecute(zygote=True, extra_arguments=["--HistoryManager.hist_file=:memory:"],  # as nbclient's
                             **settings)
        grader.nb = nbformat.v4.new_notebook()
        self.km, self.folder, _ = grader._new_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=120)

    def run(self, code, timeout=60):
        """What the cell printed (stdout), or raises AssertionError with the kernel's error."""
        out, errors = [], []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        reply = run_sync(self.kc.execute_interactive)(code, timeout=timeout, output_hook=hook)
        if not out:  # on a loaded machine ipykernel may send a request's last stream after its idle status
            self._late_output(reply["parent_header"]["msg_id"], hook)
        assert not errors, errors
        return "".join(out)

    def _late_output(self, msg_id, hook, seconds=5):
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                msg = run_sync(self.kc.get_iopub_msg)(timeout=left)
            except queue.Empty:
                return
            if msg["parent_header"].get("msg_id") == msg_id:
                hook(msg)
                if msg["msg_type"] == "stream":
                    return

    def value(self, expression):
        return json.loads(self.run(f"import json as _j; print('\\n@@' + _j.dumps({expression}))").rsplit("\n@@", 1)[1])

    @property
    def holder(self):
        return self.km.provisioner.process.pid

    def alive(self):
        return run_sync(self.km.is_alive)()

    def close(self):
        self.kc.stop_channels()
        run_sync(self.km.shutdown_kernel)(now=True)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def kernels():
    started = []

    def start(**settings):
        started.append(Kernel(**settings))
        return started[-1]
    yield start
    for kernel in started:
        kernel.close()


def host_pids_in(namespace):
    """The host's pids of the processes in a pid namespace ('pid:[inode]', as the kernel reads /proc/self/ns/pid)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") == namespace:
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def own_uid(kernel):
    """The uid a child runs as: as root one of its own, as another user the user's (in a user namespace of its own)."""
    return os.getuid() if ROOTLESS else zygote.launch.FIRST_UID + kernel.holder


def tmp_seen(kernel):
    """What a child's /tmp holds: its working and temp folders, its IPC folder's first folder, and the first folder of
    each path the kernel runs from that lies under /tmp (the venv of a course under /tmp)."""
    paths = [kernel.folder] + [seen for _, seen in zygote.launch.runtime_paths()]
    return sorted({"tmp", "work"} | {p.split("/")[2] for p in paths if p.startswith("/tmp/")})


def wait_dead(kernel, seconds=15):
    deadline = time.monotonic() + seconds
    while kernel.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not kernel.alive()


def test_a_child_is_a_sandboxed_kernel_of_its_own(kernels):
    kernel = kernels()
    facts = kernel.value("dict(uid=__import__('os').getuid(), pid=__import__('os').getpid(), "
                         "tmp=sorted(__import__('os').listdir('/tmp')), cwd=__import__('os').getcwd(), "
                         "caps=open('/proc/self/status').read().split('CapEff:')[1].split()[0], "
                         "bounding=open('/proc/self/status').read().split('CapBnd:')[1].split()[0], "
                         "nnp=open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0], "
                         f"course=[p for p in {COURSE_FILES!r} if __import__('os').path.exists(p)])")
    assert facts["uid"] == own_uid(kernel), facts                    # as a fresh kernel's
    assert facts["pid"] == 2 and facts["cwd"] == "/tmp/work", facts  # its own pid namespace, its tmpfs
    assert facts["tmp"] == tmp_seen(kernel), facts
    assert facts["caps"] == "0000000000000000" and facts["nnp"] == "1" and not facts["course"], facts
    if ROOTLESS:  # root dropped root by its uid; here no capability is left to take back either
        assert facts["bounding"] == "0000000000000000", facts
        with pytest.raises(AssertionError, match=r"PermissionError|Invalid argument"):  # (no uid 0 in its namespace)
            kernel.run("import os; os.setuid(0)")
    assert kernel.run("import torch; print(torch.ones(3).sum().item())").strip() == "3.0"


def test_a_sibling_is_out_of_reach(kernels):
    """Two kernels at once: the second sees none of the first's processes, memory, /proc, files, sockets, IPC."""
    first, second = kernels(), kernels()
    first.run("import os, socket, threading, time\nSECRET_MARK = 'sibling-' + 'secret-7f3a'\n"
              "open('/tmp/work/mark.txt', 'w').write(SECRET_MARK)\nopen('/tmp/tmp/mark.txt', 'w').write(SECRET_MARK)\n"
              "listener = socket.socket(socket.AF_UNIX); listener.bind('\\0lab2-sibling'); listener.listen()\n"
              "tcp = socket.socket(); tcp.bind(('127.0.0.1', 47111)); tcp.listen()\n"
              "os.environ['SECRET_MARK'] = SECRET_MARK")
    second.run("def _readable(path):\n    try:\n        return open(path, 'rb').read()\n    except OSError:\n"
               "        return b''")  # (as another user, its own init's environ is the init's: not readable)
    found = second.value(
        "(lambda os, socket: dict("
        "pids=sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),"
        f"holder=os.path.exists('/proc/{first.holder}'),"
        "mark=[p for p in os.listdir('/proc') if p.isdigit() for f in ('environ', 'cmdline')"
        "      if b'secret-7f3a' in _readable(f'/proc/{p}/{f}')],"
        "files=[p for p in ('/tmp/work/mark.txt', '/tmp/tmp/mark.txt') if os.path.exists(p)],"
        f"ipc=sorted(os.listdir({os.path.dirname(first.folder)!r})),"
        "abstract=socket.socket(socket.AF_UNIX).connect_ex('\\0lab2-sibling'),"
        "tcp=socket.socket().connect_ex(('127.0.0.1', 47111))))(__import__('os'), __import__('socket'))")
    assert set(found["pids"]) <= {1, 2, 3, 4, 5}, found   # its own pid namespace: nothing of the sibling's
    assert not found["holder"] and not found["mark"] and not found["files"], found
    assert found["ipc"] == [os.path.basename(second.folder)], found  # its own IPC folder, no sibling's
    assert found["abstract"] != 0 and found["tcp"] != 0, found      # its own network namespace
    with pytest.raises(AssertionError, match="ProcessLookupError"):
        second.run(f"import os; os.kill({first.holder}, 0)")        # the sibling's processes do not exist for it
    with pytest.raises(AssertionError, match="(PermissionError|FileNotFoundError|ProcessLookupError)"):
        second.run(f"open('/proc/{first.holder}/mem', 'rb').read(1)")
    assert first.run("print(open('/tmp/work/mark.txt').read())").strip() == "sibling-secret-7f3a"


def test_a_fork_bomb_counts_against_its_own_kernel_only(kernels):
    """The process limit (c.SafeExecute.kernel_processes) is per kernel: as root by its uid, as another user by its
    user namespace (RLIMIT_NPROC counts per user namespace); one kernel that uses it up leaves its sibling's."""
    first, second = kernels(kernel_processes=64), kernels(kernel_processes=64)
    bomb = ("import subprocess\nkept = []\ntry:\n    for _ in range(200):\n"
            "        kept.append(subprocess.Popen(['sleep', '60']))\nexcept OSError as err:\n    print(type(err).__name__)\n"
            "print(len(kept))")
    refused, started = first.run(bomb).split()
    assert refused == "BlockingIOError" and int(started) < 64, (refused, started)
    sibling = second.run("import subprocess\nkept = [subprocess.Popen(['sleep', '60']) for _ in range(20)]\n"
                         "print(len(kept))")
    assert sibling.strip() == "20"


def test_nothing_is_left_behind_for_the_next_child(kernels):
    """A thread, a process, a file descriptor, a patched module, a seed: all end with the child that made them."""
    fresh = kernels()
    fds = ("sorted(os.path.basename(link) if link.startswith('/') else link.split(':')[0] for link in "
           "[os.readlink(f'/proc/self/fd/{fd}') if os.path.lexists(f'/proc/self/fd/{fd}') else '' "
           "for fd in os.listdir('/proc/self/fd')] if link)")
    state = ("(lambda os, torch, np, sys, threading: dict(threads=threading.active_count(), "
             f"fds={fds}, sum=torch.Tensor.sum.__class__.__name__, relu=torch.nn.functional.relu.__module__, "
             "marker='lab2_leftover' in sys.modules, env=os.environ.get('LEFTOVER'), "
             "abs=__builtins__['abs'].__class__.__name__ if isinstance(__builtins__, dict) else abs.__class__.__name__, "
             "rand=float(np.random.rand()), torch_rand=float(torch.rand(1)), dirs=sorted(os.listdir('/tmp/work'))))"
             "(__import__('os'), __import__('torch'), __import__('numpy'), __import__('sys'), __import__('threading'))")
    baseline = fresh.value(state)
    attacker = kernels()
    namespace = attacker.value("__import__('os').readlink('/proc/self/ns/pid')")
    attacker.run(
        "import os, sys, threading, time, types, builtins, torch, numpy\n"
        "threading.Thread(target=lambda: [time.sleep(0.05) for _ in iter(int, 1)], daemon=False).start()\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        while True: time.sleep(0.1)\n"
        "    os._exit(0)\n"
        "kept = [open('/tmp/work/kept.txt', 'w'), __import__('socket').socket()]\n"
        "torch.Tensor.sum = lambda self, *a, **k: torch.tensor(42.0)\n"
        "torch.nn.functional.relu = lambda x, inplace=False: x\n"
        "builtins.abs = lambda x: 0\n"
        "sys.modules['lab2_leftover'] = types.ModuleType('lab2_leftover')\n"
        "os.environ['LEFTOVER'] = 'yes'\n"
        "numpy.random.seed(1); torch.manual_seed(1)")
    time.sleep(0.3)
    assert len(host_pids_in(namespace)) >= 3  # its init, the kernel and its daemon
    attacker.close()
    deadline = time.monotonic() + 10
    while host_pids_in(namespace) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert host_pids_in(namespace) == []  # the daemon it forked died with its namespace
    after = kernels().value(state)
    for key in ("threads", "fds", "sum", "relu", "marker", "env", "abs", "dirs", "torch_rand"):
        if key == "fds":  # none left behind: the first child may still hold sockets of its start (a loaded machine)
            assert not Counter(after[key]) - Counter(baseline[key]), (key, baseline, after)
        else:
            assert after[key] == baseline[key], (key, baseline, after)
    assert after["rand"] != baseline["rand"]  # numpy's global seed is drawn per child, not inherited


def test_the_zygote_cannot_be_signalled_and_one_that_dies_is_replaced(kernels):
    first = kernels()
    server = zygote._zygotes[os.path.dirname(first.folder)]
    zygote_pid = server.process.pid
    # everything the kernel may signal: its own namespace only (kill(-1) reaches no process outside it)
    first.kc.execute("import os, signal\nfor pid in range(1, 5000):\n    try: os.kill(pid, signal.SIGKILL)\n"
                     "    except OSError: pass\nos.kill(-1, signal.SIGKILL)")
    wait_dead(first)
    assert server.alive() and server.process.pid == zygote_pid
    second = kernels()
    assert second.run("print(1 + 1)").strip() == "2" and server.alive()
    # the grader's own zygote dies (a bug, an OOM kill): the running kernel keeps running, the next gets a new zygote
    os.kill(server.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    assert second.run("print(2 + 2)").strip() == "4" and second.alive()
    third = kernels()
    assert third.run("print(3 + 3)").strip() == "6"
    assert zygote._zygotes[os.path.dirname(third.folder)].pid != server.pid


def test_a_dead_or_hung_child_looks_like_a_dead_or_hung_kernel(kernels):
    kernel = kernels()
    looping = kernel.kc.execute("while True: pass")
    started = time.time() + 60  # the interrupt must find the loop running: on a loaded machine that takes a while
    while time.time() < started:
        msg = run_sync(kernel.kc.get_iopub_msg)(timeout=60)
        if msg["msg_type"] == "execute_input" and msg["parent_header"].get("msg_id") == looping:
            break
    time.sleep(0.5)
    run_sync(kernel.km.interrupt_kernel)()  # interrupt_mode "message", as nbclient does on a cell's timeout
    reply = run_sync(kernel.kc.get_shell_msg)(timeout=30)
    while reply["msg_type"] == "kernel_info_reply":  # a late answer to the readiness wait's kernel_info (a loaded machine)
        reply = run_sync(kernel.kc.get_shell_msg)(timeout=30)
    assert reply["parent_header"]["msg_id"] == looping and reply["content"]["ename"] == "KeyboardInterrupt", reply
    assert kernel.run("print('still here')", timeout=30).strip() == "still here"
    kernel.kc.execute("import os; os._exit(3)")
    wait_dead(kernel)
    assert kernel.km.provisioner.process.returncode == 3
    killed = kernels()
    run_sync(killed.km.shutdown_kernel)(now=True)
    assert not killed.alive()


def test_a_zygote_that_cannot_start_is_a_grader_bug(monkeypatch, tmp_path):
    """Not the student's 0: SafeExecute stops loudly, naming itself (tests/test_grader_bug.py's convention)."""
    broken = tmp_path / "zygote_server.py"
    broken.write_text("import sys; sys.exit('broken on purpose')\n")
    monkeypatch.setattr(zygote, "SERVER", str(broken))
    monkeypatch.setattr(zygote, "_zygotes", {})
    monkeypatch.setattr(kernel_lifecycle, "_ipc", [])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    grader = SafeExecute(zygote=True, prestart=False)
    with pytest.raises(GraderBug) as caught:
        grader.preprocess(nb, {"nbgrader": {"student": "s1"}})
    assert isinstance(caught.value.error, zygote.ZygoteError) and "broken on purpose" in str(caught.value.error)


@pytest.mark.parametrize("forked", [True, False], ids=["zygote", "fresh-sandbox"])
def test_a_kernel_that_cannot_start_says_why(forked):
    """A sandboxed kernel that cannot import its kernel class dies before kernel_info: the grader's bug, and its
    message carries the kernel's last lines on stderr, which name the import (grading/kernel_stderr.py)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    grader = SafeExecute(zygote=forked, prestart=False, startup_timeout=60,
                         extra_arguments=["--IPKernelApp.kernel_class=lab2_no_such_module.Kernel"])
    with pytest.raises(GraderBug) as caught:
        grader.preprocess(nb, {"nbgrader": {"student": "s1"}})
    message = str(caught.value)
    print(message)
    assert "Kernel died before replying to kernel_info; the kernel's last lines on stderr:" in message, message
    assert "'lab2_no_such_module.Kernel' could not be imported" in message, message
