"""The kernel zygote, the grading process's side: torch and the kernel's modules imported once per grading
process, a fresh sandboxed fork per notebook (c.SafeExecute.zygote; off: one fresh `python -m ipykernel_launcher`
per notebook, grading/jupyter/kernels/lab2-sandbox/launch.py).

The zygote (grading/jupyter/kernels/lab2-zygote/zygote_server.py) runs inside bubblewrap with the sandbox's view
of the machine: the system and the Python installation read-only, no network, nothing of the course. It
imports torch, numpy, IPython and ipykernel and then only forks. Per kernel, jupyter_client's provisioner
(ZygoteProvisioner, named by the kernelspec grading/jupyter/kernels/lab2-zygote/kernel.json) asks it for a
child over a socket pair of its own; the child builds the kernel's namespaces, /tmp and limits and starts
IPKernelApp on the connection file (see zygote_server.py). To jupyter_client and nbclient the child is the
kernel's process: `pid` is the holder's, which a kill ends with the whole namespace; `poll` is its exit status.

Whose fault: the zygote is the grader's. It is started on first use and again when it has died; when it
cannot start or cannot fork, starting the kernel raises ZygoteError, which SafeExecute reports as a GraderBug
(never a student's 0). A zygote that dies leaves the kernels it forked running.
"""
import atexit
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import EntryPoint

from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.provisioning.factory import KernelProvisionerFactory

KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter", "kernels")
KERNEL_NAME = PROVISIONER = "lab2-zygote"
SERVER = os.path.join(KERNELS, KERNEL_NAME, "zygote_server.py")
STAGE = "/run/lab2-ipc"  # zygote_server.STAGE
START_SECONDS = 180      # the zygote's imports (torch) on a busy machine
FORK_SECONDS = 60        # one child's sandbox


def _sandbox_launcher():
    """The sandbox launcher's own helpers (its binds, environment and private folder): one definition of each."""
    spec = importlib.util.spec_from_file_location("lab2_sandbox_launch", os.path.join(KERNELS, "lab2-sandbox", "launch.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launch = _sandbox_launcher()


def available():
    """The zygote's default: on where it can build each child's sandbox (as root, with pidfds), unless
    $LAB2_ZYGOTE is 'off'."""
    return os.environ.get("LAB2_ZYGOTE", "on") != "off" and os.geteuid() == 0 and hasattr(os, "pidfd_open")


class ZygoteError(RuntimeError):
    """The zygote could not start or fork a kernel: the grader's fault."""


def _receive(sock, seconds, what):
    ready, _, _ = select.select([sock], [], [], seconds)
    if not ready:
        raise ZygoteError(f"the kernel zygote did not answer in {seconds} s ({what})")
    data = sock.recv(1 << 16)
    if not data:
        raise ConnectionResetError(f"the kernel zygote closed the socket ({what})")
    return json.loads(data)


class Zygote:
    """One running zygote, for the kernels whose IPC folders lie under `ipc_root`."""

    def __init__(self, ipc_root):
        self.ipc_root = ipc_root
        self.lock = threading.Lock()
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        server_dir = os.path.dirname(SERVER)
        binds = launch.system_binds() + ["--ro-bind", server_dir, server_dir, "--bind", ipc_root, STAGE]
        setenv = [x for k, v in launch.base_env().items() for x in ("--setenv", k, v)]
        command = ["bwrap", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                   "--die-with-parent", "--new-session", "--clearenv", *setenv, "--proc", "/proc", "--dev", "/dev",
                   "--tmpfs", "/tmp", *launch.folders_above(binds), *binds, "--chdir", "/", "--",
                   sys.executable, SERVER, str(theirs.fileno())]
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=self.log)
        theirs.close()
        try:
            reply = _receive(self.sock, START_SECONDS, "start")
        except (OSError, ValueError) as err:
            self.close()
            raise ZygoteError(f"the kernel zygote did not start: {err}; its output: {self.output()}") from err
        if not reply.get("ready"):
            self.close()
            raise ZygoteError(f"the kernel zygote refused to serve: {reply.get('error')}")
        self.pid = reply["pid"]

    def output(self):
        self.log.seek(0)
        return self.log.read()[-2000:].decode(errors="replace")

    def alive(self):
        return self.process.poll() is None

    def close(self):
        self.sock.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def fork(self):
        """A new child's holder: (its pid, our end of its socket)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self.lock:
                socket.send_fds(self.sock, [b"kernel"], [theirs.fileno()])
        finally:
            theirs.close()
        try:
            return _receive(ours, FORK_SECONDS, "fork")["pid"], ours
        except BaseException:
            ours.close()
            raise


_zygotes = {}
_lock = threading.Lock()


@atexit.register
def _stop_zygotes():
    for zygote in _zygotes.values():
        zygote.close()
    _zygotes.clear()


def zygote_for(ipc_root, fresh=False):
    with _lock:
        zygote = _zygotes.get(ipc_root)
        if zygote is not None and (fresh or not zygote.alive()):
            zygote.close()
            zygote = None
        if zygote is None:
            zygote = _zygotes[ipc_root] = Zygote(ipc_root)
        return zygote


def spawn(connection_file, limits, extra=()):
    """Fork a sandboxed kernel for `connection_file` (its IPC folder under the grading process's folder of
    them): a ZygoteProcess. A zygote that has died is started again, once."""
    with open(connection_file) as f:
        info = json.load(f)
    if info.get("transport") != "ipc":
        raise ZygoteError("the zygote's kernels use IPC sockets (KernelManager.transport = 'ipc')")
    ipc_dir = os.path.dirname(info["ip"])
    ipc_root = os.path.dirname(ipc_dir)
    for attempt in (0, 1):
        try:
            pid, conn = zygote_for(ipc_root, fresh=attempt == 1).fork()
            break
        except (OSError, ValueError) as err:
            if attempt == 1:
                raise ZygoteError(f"the kernel zygote could not fork a kernel: {err}") from err
    try:
        uid = launch.FIRST_UID + pid  # unique while its kernel runs: the holder lives as long as the kernel
        private = launch.prepare(connection_file, ipc_dir, uid)
        conn.sendall(json.dumps({
            "uid": uid, "limits": limits, "env": launch.kernel_env(private), "ipc_dir": ipc_dir,
            "ipc_rel": os.path.relpath(ipc_dir, ipc_root), "extra": list(extra),
            "connection_file": os.path.join(private, "connection.json")}).encode())
        reply = _receive(conn, FORK_SECONDS, "the child's sandbox")
        if not reply.get("started"):
            raise ZygoteError(f"the kernel zygote's child could not build its sandbox: {reply.get('error')}")
        return ZygoteProcess(pid, conn)
    except BaseException as err:
        conn.close()  # the holder kills whatever it had started
        if isinstance(err, ZygoteError):
            raise
        raise ZygoteError(f"the kernel zygote's child did not start: {type(err).__name__}: {err}") from err


class ZygoteProcess:
    """The kernel's process as jupyter_client's provisioner sees it (subprocess.Popen's methods): the child's
    holder, whose death ends the kernel's namespaces, and whose socket brings the kernel's exit status."""
    stdin = stdout = stderr = None

    def __init__(self, pid, conn):
        self.pid, self.conn, self.returncode = pid, conn, None
        self.pidfd = os.pidfd_open(pid)  # signals go to this process even after its pid is reused

    def _finish(self):
        try:
            data = self.conn.recv(1 << 16)
        except OSError:
            data = b""
        try:
            self.returncode = int(json.loads(data).get("exit", 1)) if data else -signal.SIGKILL
        except (ValueError, AttributeError):
            self.returncode = 1
        self.conn.close()
        os.close(self.pidfd)

    def _ended(self, timeout):
        """Whether the end has come (within `timeout` s, None: however long): the socket has the status or closed."""
        return bool(select.select([self.conn], [], [], timeout)[0])

    def poll(self):
        if self.returncode is None and self._ended(0):
            self._finish()
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if end is None else max(0, end - time.monotonic())
            if self._ended(left):
                self._finish()
            elif end is not None and time.monotonic() >= end:
                raise subprocess.TimeoutExpired("lab2-zygote kernel", timeout)
        return self.returncode

    def send_signal(self, signum):
        if self.returncode is None:
            signal.pidfd_send_signal(self.pidfd, signum)  # SIGINT reaches the kernel; SIGTERM, SIGKILL end it

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class ZygoteProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel forked by the zygote instead of started by Popen."""

    async def launch_kernel(self, cmd, **kwargs):
        connection_file = cmd[cmd.index("-f") + 1]
        extra = [a for i, a in enumerate(cmd[2:], 2) if a != "-f" and cmd[i - 1] != "-f"]
        env = kwargs.get("env") or os.environ
        try:
            limits = json.loads(env["LAB2_LIMITS"])
        except (KeyError, ValueError) as err:
            raise ZygoteError("no LAB2_LIMITS: this kernel is started by grading/safe_execute.py") from err
        self.process = spawn(connection_file, limits, extra)
        self.pid, self.pgid = self.process.pid, None
        self.cwd = kwargs.get("cwd")
        return self.connection_info


def kernel_name():
    """The kernelspec of a kernel forked by the zygote, its provisioner registered with jupyter_client."""
    KernelProvisionerFactory.instance().provisioners.setdefault(PROVISIONER, EntryPoint(
        name=PROVISIONER, value="grading.zygote:ZygoteProvisioner", group=KernelProvisionerFactory.GROUP_NAME))
    return KERNEL_NAME
