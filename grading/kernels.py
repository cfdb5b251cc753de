"""The student's kernel and its sandbox: one fresh kernel per notebook, in an IPC folder of its own (the bubblewrap
sandbox of grading/jupyter/kernels/lab2-sandbox/ unless the sandbox is off), started while the previous notebook is
graded when more are to come; refused without bwrap; shut down with its folder when its notebook is done (and at exit,
the warm one)."""
import atexit
import functools
import getpass
import json
import os
import shutil
import subprocess
import tempfile
import time
from queue import Empty
from typing import NamedTuple

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync

import course
from grading import zygote
from grading.kernel_stderr import StartupStderr

KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter", "kernels")  # the sandboxed kernel


class SandboxMissing(SystemExit):
    """No bwrap: stop the whole run (not one notebook's fault, and no student may get zeros for it)."""


NO_NAMESPACES = (
    "自动评分拒绝运行:bubblewrap 不能以用户 {user} 建立沙箱(这台机器不允许非特权用户命名空间)。请以 root 运行,"
    "或请管理员允许非特权用户命名空间;如果确实要在没有沙箱的情况下评分,请显式设置 LAB2_SANDBOX=off。\n"
    "Autograde refused: bubblewrap cannot build the sandbox as {user} (unprivileged user namespaces are not allowed "
    "here; bwrap said: {said}). Run it as root, ask the admin to allow them (sysctl user.max_user_namespaces, "
    "kernel.unprivileged_userns_clone), or set LAB2_SANDBOX=off to grade without a sandbox.")


@functools.lru_cache(maxsize=None)
def namespaces_refused():
    """What bwrap says when it cannot build the sandbox's namespaces for this user who is not root, or '' (it can; as
    root it always can). Asked of bwrap itself, once per process."""
    if os.geteuid() == 0:
        return ""
    try:
        probe = subprocess.run(["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--", "true"], capture_output=True,
                               text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as err:
        return str(err)
    return "" if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["it failed"])[-1]


def sandbox_refusal():
    """Why autograde cannot run in the sandbox here (bwrap missing, or unable to build its namespaces), or None."""
    if not course.sandbox_on():
        return None
    if shutil.which("bwrap") is None:
        return course.SANDBOX_MISSING
    said = namespaces_refused()
    return NO_NAMESPACES.format(user=getpass.getuser(), said=said) if said else None


def refuse_without_sandbox(**_):
    """nbgrader's pre-convert hook of autograde (nbgrader_config.py): stop before a submission or the gradebook is
    touched when the sandbox is on and cannot run (bwrap missing, or no namespaces for this user; SafeExecute checks
    again when it starts a kernel)."""
    if refusal := sandbox_refusal():
        raise SandboxMissing(refusal)


class Kernel(NamedTuple):
    """A started kernel: its manager, its folder (working directory, and IPC sockets when sandboxed), and when it
    was started (time.monotonic())."""
    km: object
    folder: str
    started: float


_warm = {}  # the next notebook's kernel, started as the previous notebook's grading began
_ipc = []   # this process's folder of kernel IPC folders, made on first use


@atexit.register
def _shutdown_warm():
    for kernel in _warm.values():
        try:
            end_process(kernel.km)
            run_sync(kernel.km.shutdown_kernel)(now=True)
        except Exception:
            pass
        shutil.rmtree(kernel.folder, ignore_errors=True)
    _warm.clear()
    for folder in _ipc:
        shutil.rmtree(folder, ignore_errors=True)


def end_process(km, seconds=5):
    """The kernel's process killed (as jupyter_client kills it: its process group) and waited for here, before
    jupyter_client's shutdown, which polls every 0.1 s for a kernel that is gone within milliseconds (0.1 s of every
    notebook). One that outlives `seconds` is left to the shutdown, which waits for it again."""
    process = getattr(km.provisioner, "process", None)
    if process is None or process.poll() is not None:
        return
    run_sync(km.provisioner.kill)()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass


def ipc_folder():
    """A new folder for one sandboxed kernel's sockets, seen by that kernel only."""
    if not _ipc:
        _ipc.append(tempfile.mkdtemp(prefix="lab2-kernels-"))
    return tempfile.mkdtemp(prefix="k", dir=_ipc[0])


def sandbox_tmp(km):
    """(bytes used, bytes in all) of the sandbox's /tmp, seen from outside through /proc; None if not visible."""
    try:
        pid = km.provisioner.process.pid
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            child = f.read().split()[0]
        stat = os.statvfs(f"/proc/{child}/root/tmp")
    except (AttributeError, OSError, IndexError):
        return None
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize, stat.f_blocks * stat.f_frsize


class ReadyClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready as soon as the kernel is: its wait_for_ready ends with 0.2 s of waiting
    for IOPub to fall silent (a warm kernel answers in milliseconds, so that was most of a notebook's wait for it).
    Here the kernel is ready once it has answered a kernel_info request on the shell channel and IOPub has brought
    that request's "idle" status (IOPub is subscribed); nbclient reads only the messages of its own requests."""

    async def wait_for_ready(self, timeout=None):
        end = time.monotonic() + (float("inf") if timeout is None else timeout)
        asked = set()
        while True:
            asked.add(self.kernel_info())
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and await self._idle(asked, 0.2):
                self._handle_kernel_info_reply(reply)
                self._startup_ready()
                return
            if not await self.is_alive():
                raise RuntimeError(self._explained("Kernel died before replying to kernel_info"))
            if time.monotonic() > end:
                raise RuntimeError(self._explained(f"Kernel didn't respond in {timeout:.0f} seconds"))

    def _startup_stderr(self):
        """The kernel's stderr until it is ready (grading/kernel_stderr.py), kept by its manager (our parent)."""
        return getattr(self.parent, STDERR_ATTRIBUTE, None)

    def _startup_ready(self):
        if (startup := self._startup_stderr()) is not None:
            startup.ready()

    def _explained(self, message):
        startup = self._startup_stderr()
        return message if startup is None else startup.explain(message)

    async def _idle(self, asked, seconds):
        """Whether IOPub brings the idle status of one of the kernel_info requests `asked` within `seconds` (it does not
        when IOPub was not yet subscribed as the kernel answered: then ask again, as jupyter_client does)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                message = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (message["msg_type"] == "status" and message["content"].get("execution_state") == "idle"
                    and message["parent_header"].get("msg_id") in asked):
                return True
        return False


READY_CLIENT = f"{__name__}.{ReadyClient.__name__}"  # as a kernel manager's client_class names it
STDERR_ATTRIBUTE = "lab2_startup_stderr"  # a grading kernel's manager: its StartupStderr


class SandboxedKernels:
    """SafeExecute's kernels (a mixin of nbclient's NotebookClient, through nbgrader's Execute): starting one,
    taking the warm one, and closing it. Uses SafeExecute's settings (sandbox, the kernel_* limits, prestart)."""

    def limits(self):
        """What the sandbox's launcher enforces (grading/jupyter/kernels/lab2-sandbox/launch.py reads LAB2_LIMITS)."""
        return {"disk_bytes": self.disk_budget_mb << 20, "address_space_bytes": int(self.kernel_memory_gb * (1 << 30)),
                "cpu_seconds": self.kernel_cpu_seconds, "processes": self.kernel_processes,
                "file_bytes": self.kernel_file_mb << 20}

    def _sandboxed(self):
        return self.sandbox

    async def _async_new_kernel(self):
        name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name", "python3")
        options, env = {}, dict(os.environ)
        if self._sandboxed():  # the sandboxed kernel, its sockets in a folder that no other kernel sees
            if refusal := sandbox_refusal():
                raise SandboxMissing(refusal)
            folder = ipc_folder()
            name = "lab2-sandbox"
            options = {"transport": "ipc", "ip": os.path.join(folder, "kernel"),
                       "kernel_spec_manager": KernelSpecManager(kernel_dirs=[KERNELS])}
            env["LAB2_LIMITS"] = json.dumps(self.limits())
            if self.zygote:  # the same sandbox, forked by this process's zygote (grading/zygote.py)
                name = zygote.kernel_name()
        else:
            folder = tempfile.mkdtemp(prefix="lab2-kernel-")
        km = self.kernel_manager_class(kernel_name=name, config=self.config, client_class=READY_CLIENT, **options)
        started = time.monotonic()
        # the kernel's banner ("To connect another client to this kernel ...") would fill the TA's console; its
        # stderr is kept until it is ready, for the message when it does not start (grading/kernel_stderr.py)
        startup = StartupStderr()
        setattr(km, STDERR_ATTRIBUTE, startup)
        try:
            await km.start_kernel(extra_arguments=self.extra_arguments, cwd=folder, stdout=subprocess.DEVNULL,
                                  stderr=startup.fd, env=env)
        finally:
            startup.close_writer()
        return Kernel(km, folder, started)

    _new_kernel = run_sync(_async_new_kernel)

    def take_kernel(self):
        """This notebook's kernel: the warm one if it is still alive, else a new one."""
        kernel = _warm.pop("next", None) or self._new_kernel()
        if not run_sync(kernel.km.is_alive)():  # a warm kernel that died waiting: not this student's fault
            shutil.rmtree(kernel.folder, ignore_errors=True)
            kernel = self._new_kernel()
        return kernel

    def warm_next(self, resources):
        """Start the next notebook's kernel now, when another notebook follows (it boots while this one is graded and
        stored, in a sandbox of its own: nothing of this notebook's kernel reaches it)."""
        if self.prestart or self.prestart is None and self._more_to_grade(resources):
            _warm["next"] = self._new_kernel()

    def _more_to_grade(self, resources):
        """Whether this nbgrader run grades another submission after this one (nbgrader's converter is the parent
        of the exporter that made this preprocessor; its `assignments` are the submissions of this run)."""
        converter = getattr(self.parent, "parent", None)
        student = (resources or {}).get("nbgrader", {}).get("student")
        folders = sorted(getattr(converter, "assignments", None) or {})
        mine = [i for i, folder in enumerate(folders) if student and os.path.basename(os.path.dirname(folder)) == student]
        return bool(mine) and mine[-1] < len(folders) - 1

    def kernel_ready(self, kernel):
        """Once the kernel answers (nbclient's on_notebook_start): as root, its IPC folder is taken back, so that all
        it can write is its own tmpfs (the disk budget)."""
        if self._sandboxed() and os.geteuid() == 0:
            os.chown(kernel.folder, 0, 0)
            os.chmod(kernel.folder, 0o755)
        process = getattr(kernel.km.provisioner, "process", None)
        if isinstance(process, zygote.ZygoteProcess):  # the zygote's child: its IPC folder becomes read-only to it
            process.ready()

    def close_kernel(self, kernel):
        try:
            if getattr(self, "kc", None) is not None:
                self.kc.stop_channels()
                self.kc = None
            end_process(kernel.km)
            run_sync(kernel.km.shutdown_kernel)(now=True)
        except Exception:
            pass
        shutil.rmtree(kernel.folder, ignore_errors=True)
