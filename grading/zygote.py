"""The kernel zygote, the grading process's side: torch and the kernel's modules imported once per grading
process, a fresh sandboxed fork per notebook (c.SafeExecute.zygote; off: one fresh `python -m ipykernel_launcher`
per notebook, grading/jupyter/kernels/lab2-sandbox/launch.py).

The zygote (grading/jupyter/kernels/lab2-zygote/zygote_server.py) runs inside bubblewrap with the sandbox's view
of the machine: the system and the Python installation read-only (wherever they lie: launch.py's runtime_paths), no
network, nothing of the course. As root it builds each child's namespaces with root's capabilities; as another user
(where unprivileged user namespaces are allowed) in bwrap's user namespace, each kernel then in one of its own. It
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
import functools
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
# Not root: the zygote runs in bwrap's user namespace (the TA's one uid mapped) with these capabilities there, and
# only there: to build each child's namespaces and mounts (SYS_ADMIN) and loopback (NET_ADMIN), to empty the kernel's
# bounding set (SETPCAP), and to map the kernel's own user namespace onto that one uid (SETFCAP: the kernel asks for
# the uid that is 0 in bwrap's namespace). The kernel drops every one of them before it runs.
ROOTLESS_CAPS = ("CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETPCAP", "CAP_SETFCAP")


def _sandbox_launcher():
    """The sandbox launcher's own helpers (its binds, environment and private folder): one definition of each."""
    spec = importlib.util.spec_from_file_location("lab2_sandbox_launch", os.path.join(KERNELS, "lab2-sandbox", "launch.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launch = _sandbox_launcher()


def available():
    """The zygote's default: on where it can build each child's sandbox (as root, or as another user where
    unprivileged user namespaces are allowed: the sandbox's own condition; with pidfds), unless $LAB2_ZYGOTE is 'off'."""
    return (os.environ.get("LAB2_ZYGOTE", "on") != "off" and hasattr(os, "pidfd_open")
            and (os.geteuid() == 0 or user_namespaces()))


def rootless_flags():
    """bwrap's flags for a zygote that is not root: a user namespace of its own, with ROOTLESS_CAPS in it."""
    # uid 0 inside (mapped to the TA's): bwrap then makes one user namespace, not two, and owns the mounts it made
    # there, so that each child may replace them (under bwrap's default uid they would be locked)
    return (["--unshare-user", "--uid", "0", "--gid", "0", *(x for cap in ROOTLESS_CAPS for x in ("--cap-add", cap))]
            if os.geteuid() else [])


@functools.lru_cache(maxsize=None)
def user_namespaces():
    """Whether bwrap can give this user a user namespace with the zygote's capabilities (asked of bwrap itself, once)."""
    try:
        return subprocess.run(["bwrap", *rootless_flags(), "--ro-bind", "/", "/", "--", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


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
        command = ["bwrap", *rootless_flags(), "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
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

    def fork(self, stderr=None):
        """A new child's holder: (its pid, our end of its socket). `stderr`: the file descriptor for the kernel's
        stderr (grading/kernel_stderr.py's pipe), or None (/dev/null)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self.lock:
                socket.send_fds(self.sock, [b"kernel"], [theirs.fileno()] + ([stderr] if stderr is not None else []))
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


def spawn(connection_file, limits, extra=(), stderr=None):
    """Fork a sandboxed kernel for `connection_file` (its IPC folder under the grading process's folder of
    them), its stderr on the file descriptor `stderr` (None: /dev/null): a ZygoteProcess. A zygote that has died is
    started again, once."""
    with open(connection_file) as f:
        info = json.load(f)
    if info.get("transport") != "ipc":
        raise ZygoteError("the zygote's kernels use IPC sockets (KernelManager.transport = 'ipc')")
    ipc_dir = os.path.dirname(info["ip"])
    ipc_root = os.path.dirname(ipc_dir)
    for attempt in (0, 1):
        try:
            pid, conn = zygote_for(ipc_root, fresh=attempt == 1).fork(stderr)
            break
        except (OSError, ValueError) as err:
            if attempt == 1:
                raise ZygoteError(f"the kernel zygote could not fork a kernel: {err}") from err
    try:
        rootless = os.geteuid() != 0  # then the kernel keeps the TA's uid, in a user namespace of its own
        uid = os.getuid() if rootless else launch.FIRST_UID + pid  # as root: unique while its kernel runs (the holder
        private = launch.prepare(connection_file, ipc_dir, None if rootless else uid)  # lives as long as the kernel)
        conn.sendall(json.dumps({
            "uid": uid, "gid": os.getgid() if rootless else uid, "rootless": rootless, "limits": limits,
            "env": launch.kernel_env(private), "ipc_dir": ipc_dir,
            "ipc_rel": os.path.relpath(ipc_dir, ipc_root), "extra": list(extra),
            "keep": [seen for _, seen in launch.runtime_paths()],
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

    def _finish(self, data=None):
        if data is None:
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

    def ready(self):
        """The kernel has answered: its holder makes its IPC folder read-only to it (zygote_server.ipc_read_only).
        A kernel that died meanwhile is left to be found dead; a holder that cannot do it is the grader's fault."""
        if self.returncode is not None:
            return
        self.conn.sendall(json.dumps({"ready": True}).encode())
        if not select.select([self.conn], [], [], FORK_SECONDS)[0]:
            raise ZygoteError(f"the kernel's holder did not make its IPC folder read-only in {FORK_SECONDS} s")
        data = self.conn.recv(1 << 16)
        reply = json.loads(data) if data else {}
        if not data or "exit" in reply:
            return self._finish(data)
        if not reply.get("read_only"):
            raise ZygoteError(f"the kernel's holder could not make its IPC folder read-only: {reply.get('error')}")

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
        stderr = kwargs.get("stderr")
        self.process = spawn(connection_file, limits, extra, stderr if isinstance(stderr, int) and stderr >= 0 else None)
        self.pid, self.pgid = self.process.pid, None
        self.cwd = kwargs.get("cwd")
        return self.connection_info


def kernel_name():
    """The kernelspec of a kernel forked by the zygote, its provisioner registered with jupyter_client."""
    KernelProvisionerFactory.instance().provisioners.setdefault(PROVISIONER, EntryPoint(
        name=PROVISIONER, value="grading.zygote:ZygoteProvisioner", group=KernelProvisionerFactory.GROUP_NAME))
    return KERNEL_NAME
