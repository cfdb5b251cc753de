"""A fork server for tests/student_kernel.py: torch, numpy, IPython and ipykernel imported once per run, and each
notebook's kernel a new process forked from that warm Python, still a real Jupyter kernel that nbclient drives
over ZMQ (a plain kernel as a student's: no sandbox, no probe; the grader's sandboxed zygote is grading/zygote.py).

    server = student_forks.start()     # None where it cannot serve (not Linux, LAB2_STUDENT_FORKS=off, no start)
    km = server.manager(ip=...)        # an AsyncKernelManager whose kernel is forked instead of started by Popen

The server is tests/student_fork_server.py run as a script, a child of the run: per kernel a holder, which forks
the kernel and relays its exit status. The run learns of a kernel's death however it dies: from the holder's
status, from the holder's socket closing, and from the kernel's own pidfd (a holder that the kernel stopped or
killed cannot hide it). A server that stops answering is replaced. Nothing of one notebook's run reaches the next:
each is a new process.
"""
import atexit
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
from importlib.metadata import EntryPoint

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.provisioning.factory import KernelProvisionerFactory

from grading.zygote import ZygoteProcess

NAME = "lab2-student-fork"   # the kernelspec and its provisioner
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "student_fork_server.py")
START_SECONDS = 180          # the server's imports (torch) on a busy machine
FORK_SECONDS = 60
STATUS_SECONDS = 2           # a kernel seen gone on its pidfd: how long its holder has to send its exit status


# ---- the run's side: a jupyter_client provisioner whose "process" is the forked kernel ----

def _receive(sock, seconds, what):
    if not select.select([sock], [], [], seconds)[0]:
        raise TimeoutError(f"the student fork server did not answer in {seconds} s ({what})")
    data = sock.recv(1 << 16)
    if not data:
        raise ConnectionResetError(f"the student fork server closed the socket ({what})")
    return json.loads(data)


class ForkedKernel(ZygoteProcess):
    """The kernel's process as LocalProvisioner sees a Popen: the grading zygote's handle (grading/zygote.py: the exit
    status comes over the holder's socket, signals go through a pidfd), for the kernel's own pid, and with the
    kernel's end also seen on that pidfd: a kernel gone is dead to nbclient, whatever became of its holder."""

    def __init__(self, pid, conn):
        super().__init__(pid, conn)
        conn.setblocking(False)  # a holder that sent nothing: _finish reads nothing (-SIGKILL), it does not wait

    def _ended(self, timeout):
        ready = select.select([self.conn, self.pidfd], [], [], timeout)[0]
        if ready == [self.pidfd]:  # the kernel is gone: its exit status, if its holder sends it in time
            select.select([self.conn], [], [], STATUS_SECONDS)
        return bool(ready)


class Server:
    """The running fork server, and a kernelspec (the plain python3's, with this provisioner) in a temporary folder."""

    def __init__(self):
        self._start()
        self.specs = tempfile.TemporaryDirectory(prefix="student-forks-")
        spec = KernelSpecManager().get_kernel_spec("python3").to_dict()
        spec.setdefault("metadata", {})["kernel_provisioner"] = {"provisioner_name": NAME}
        os.makedirs(os.path.join(self.specs.name, NAME))
        with open(os.path.join(self.specs.name, NAME, "kernel.json"), "w") as f:
            json.dump(spec, f)
        self.kernel_specs = KernelSpecManager(kernel_dirs=[self.specs.name])
        KernelProvisionerFactory.instance().provisioners.setdefault(NAME, EntryPoint(
            name=NAME, value=f"{__name__}:ForkProvisioner", group=KernelProvisionerFactory.GROUP_NAME))
        atexit.register(self.close)

    def _start(self):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen([sys.executable, SCRIPT, str(theirs.fileno()), str(os.getpid())],
                                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        try:
            reply = _receive(self.sock, START_SECONDS, "start")
            if not reply.get("ready"):
                raise RuntimeError(f"the student fork server refused to serve: {reply.get('error')}")
        except BaseException:
            self.close()
            raise

    def close(self):
        self.sock.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def manager(self, **kwargs):
        """An AsyncKernelManager, as nbclient expects: with a (blocking) KernelManager nbclient reads IOPub with a
        blocking call in its event loop, which a kernel that dies mid-cell leaves waiting forever."""
        return AsyncKernelManager(kernel_name=NAME, kernel_spec_manager=self.kernel_specs, **kwargs)

    def fork(self, argv, env, cwd):
        """A new kernel on the connection file in `argv`: its ForkedKernel. A server that died or does not answer
        (a kernel can stop or kill it) is started again, once."""
        for attempt in (0, 1):
            if attempt or self.process.poll() is not None:
                self.close()
                self._start()
            try:
                return self._fork({"argv": argv, "env": env, "cwd": cwd})
            except (OSError, ValueError) as err:  # (TimeoutError is an OSError)
                if attempt:
                    raise RuntimeError(f"the student fork server could not fork a kernel: {err}") from err

    def _fork(self, request):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.sock.settimeout(FORK_SECONDS)  # a server that stopped reading cannot block the run
            socket.send_fds(self.sock, [b"kernel"], [theirs.fileno()])
            theirs.close()
            ours.settimeout(FORK_SECONDS)
            ours.sendall(json.dumps(request).encode())
            reply = _receive(ours, FORK_SECONDS, "fork")
            if "pid" not in reply:
                raise RuntimeError(f"the student fork server could not fork a kernel: {reply.get('error')}")
            return ForkedKernel(reply["pid"], ours)
        except BaseException:
            theirs.close()
            ours.close()
            raise


_server = None  # the run's Server, or False where it could not start


def start():
    """The run's fork server (started on first use), or None where it cannot serve: then kernels start fresh."""
    global _server
    if _server is None:
        _server = False
        if sys.platform == "linux" and hasattr(os, "pidfd_open") and os.environ.get("LAB2_STUDENT_FORKS") != "off":
            try:
                _server = Server()
            except (OSError, RuntimeError, ValueError) as err:
                print(f"student_forks: no fork server ({err}); each kernel starts fresh", file=sys.stderr)
    return _server or None


class ForkProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel forked by the server instead of started by Popen."""

    async def launch_kernel(self, cmd, **kwargs):
        if cmd[1:3] != ["-m", "ipykernel_launcher"]:
            raise RuntimeError(f"the student fork server starts only ipykernel, not {cmd}")
        env = dict(kwargs.get("env") or os.environ, JPY_PARENT_PID=str(os.getpid()))  # as jupyter_client's launcher
        self.cwd = kwargs.get("cwd") or os.getcwd()
        self.process = _server.fork(cmd[3:], env, str(self.cwd))
        self.pid = self.pgid = self.process.pid  # the kernel leads its own session: signals go to its group
        return self.connection_info
