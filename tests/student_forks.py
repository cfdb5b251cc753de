"""A fork server for tests/student_kernel.py: torch, numpy, IPython and ipykernel imported once per run, and each
notebook's kernel a new process forked from that warm Python, still a real Jupyter kernel that nbclient drives
over ZMQ (a plain kernel as a student's: no sandbox, no probe; the grader's sandboxed zygote is grading/zygote.py).

    server = student_forks.start()     # None where it cannot serve (not Linux, LAB2_STUDENT_FORKS=off, no start)
    km = server.manager(ip=...)        # a KernelManager whose kernel is forked instead of started by Popen

The server is this file run as a script, a child of the run. Per kernel it forks a holder, which forks the kernel:
the kernel starts a session of its own, closes what it inherited, takes the kernel's environment, folder and fresh
seeds and starts ipykernel's IPKernelApp on its connection file, as `python -m ipykernel_launcher -f FILE` would.
The holder sends the kernel's exit status over the kernel's own socket and kills the kernel when that socket
closes (the run killed it, or died). Each dies with its parent (PR_SET_PDEATHSIG): server with the run, holder
with the server, kernel with its holder. Nothing of one notebook's run reaches the next: each is a new process.
"""
import atexit
import ctypes
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
from importlib.metadata import EntryPoint

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.provisioning.factory import KernelProvisionerFactory

NAME = "lab2-student-fork"   # the kernelspec and its provisioner
START_SECONDS = 180          # the server's imports (torch) on a busy machine
FORK_SECONDS = 60
PR_SET_PDEATHSIG = 1


# ---- the server's side (this file run as a script) ----

def die_with(parent):
    """SIGKILL when `parent` dies (the kernel's own `os._exit`s never reach it: only a parent's death does)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl
        os._exit(1)


def run_kernel(request, holder):
    """In the kernel's process: become what `python -m ipykernel_launcher` would be, and run it. Never returns."""
    code = 1
    try:
        die_with(holder)
        os.setsid()  # as jupyter_client starts a kernel: an interrupt or a kill signals its process group
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)  # stdout and stderr stay the run's, as a started kernel's do
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the server's socket, the holder's pipe (its EOF: setsid is done)
        for sig in (signal.SIGCHLD, signal.SIGTERM):  # SIGPIPE stays ignored, as Python starts
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        import random
        import numpy
        random.seed()        # (Python reseeds `random` after a fork itself; numpy does not)
        numpy.random.seed()  # torch's default generator is untouched since import: as a new process's
        tempfile.tempdir = None
        del sys.path[0]  # this script's folder; ipykernel_launcher removes the cwd it starts with, IPython adds ""
        sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *request["argv"]]
        from ipykernel import kernelapp
        parent = [f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}"]  # its default was read at import
        kernelapp.launch_new_instance(argv=[*request["argv"], *parent])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException as err:  # its notebook sees a dead kernel
        print(f"student_forks: the kernel did not start: {type(err).__name__}: {err}", file=sys.stderr)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def run_holder(conn, control, server):
    """In the holder: fork the kernel, send its pid and then its exit status; kill it when its socket closes."""
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        die_with(server)
        request = json.loads(conn.recv(1 << 20))
        read, write = os.pipe()
        holder = os.getpid()
        kernel = os.fork()
        if kernel == 0:
            conn.close()
            os.close(read)
            run_kernel(request, holder)
        os.close(write)
        os.read(read, 1)  # EOF: the kernel has its session (or is gone), so its pid is its process group
        os.close(read)
        conn.sendall(json.dumps({"pid": kernel}).encode())
        pidfd = os.pidfd_open(kernel)
        while True:
            ready, _, _ = select.select([conn, pidfd], [], [])
            if pidfd in ready:
                conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(os.waitpid(kernel, 0)[1])}).encode())
                break
            if not conn.recv(4096):  # the run killed the kernel or died
                os.kill(kernel, signal.SIGKILL)
                os.waitpid(kernel, 0)
                break
    except BaseException as err:
        try:
            conn.sendall(json.dumps({"error": f"{type(err).__name__}: {err}"}).encode())
        except OSError:
            pass
    os._exit(0)


def reap(*_):
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def serve(control, run):
    die_with(run)
    # What every kernel imports anyway: the grader's zygote's one list, read from its file (grading.zygote.SERVER)
    # without importing `grading`, which a student's fresh kernel does not hold.
    grading = importlib.util.find_spec("grading").submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location(
        "lab2_zygote_server", os.path.join(grading, "jupyter", "kernels", "lab2-zygote", "zygote_server.py"))
    zygote_server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zygote_server)
    zygote_server.preload()  # imports only: no torch op, no thread
    if threading.active_count() != 1:  # forking a process whose Python threads hold locks is not safe
        control.sendall(json.dumps({"error": f"{threading.active_count()} Python threads"}).encode())
        return 1
    control.sendall(json.dumps({"ready": True}).encode())
    signal.signal(signal.SIGCHLD, reap)
    server = os.getpid()
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1024, 1)
        if not message:  # the run is over
            return 0
        conn = socket.socket(fileno=fds[0])
        if os.fork() == 0:
            run_holder(conn, control, server)
        conn.close()


# ---- the run's side: a jupyter_client provisioner whose "process" is the forked kernel ----

def _receive(sock, seconds, what):
    if not select.select([sock], [], [], seconds)[0]:
        raise RuntimeError(f"the student fork server did not answer in {seconds} s ({what})")
    data = sock.recv(1 << 16)
    if not data:
        raise ConnectionResetError(f"the student fork server closed the socket ({what})")
    return json.loads(data)


class ForkedKernel:
    """The kernel's process as LocalProvisioner sees a Popen: its pid; its exit status comes over its socket."""
    stdin = stdout = stderr = None

    def __init__(self, pid, conn):
        self.pid, self.conn, self.returncode = pid, conn, None
        self.pidfd = os.pidfd_open(pid)  # signals reach this process even after its pid is reused

    def _finish(self):
        data = self.conn.recv(1 << 16)
        self.returncode = int(json.loads(data).get("exit", 1)) if data else -signal.SIGKILL
        self.conn.close()
        os.close(self.pidfd)

    def poll(self):
        if self.returncode is None and select.select([self.conn], [], [], 0)[0]:
            self._finish()
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            if not select.select([self.conn], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            self._finish()
        return self.returncode

    def send_signal(self, signum):
        if self.returncode is None:
            signal.pidfd_send_signal(self.pidfd, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


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
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(theirs.fileno()),
                                         str(os.getpid())], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                        start_new_session=True)
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
        return KernelManager(kernel_name=NAME, kernel_spec_manager=self.kernel_specs, **kwargs)

    def fork(self, argv, env, cwd):
        """A new kernel on the connection file in `argv`: its ForkedKernel. A server that died is started again."""
        if self.process.poll() is not None:
            self.close()
            self._start()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            socket.send_fds(self.sock, [b"kernel"], [theirs.fileno()])
            theirs.close()
            ours.sendall(json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode())
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


if __name__ == "__main__":
    sys.exit(serve(socket.socket(fileno=int(sys.argv[1])), int(sys.argv[2])))
