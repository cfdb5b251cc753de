"""The kernel zygote: imports torch and the kernel's modules once, then forks one sandboxed kernel per request.

It runs inside bubblewrap (grading/zygote.py starts it, one per grading process): the system and the Python
installation read-only, no network, none of the course (no gradebook, plans, seeds or grader state: it holds
only the libraries it imported). It keeps root's capabilities only to build each child's sandbox and never runs
a line of a student's code itself. Each request comes on its control socket with one new socket of the
grading process (SCM_RIGHTS); for it the zygote forks the "holder" (A), which:
  1. tells the grading process its pid; is told the kernel's uid, connection file, limits and environment;
  2. unshares new mount, pid, network, IPC, UTS and cgroup namespaces and forks the namespace's init (B, pid 1),
     which mounts a fresh /proc, a private tmpfs /tmp of the disk budget, its own devpts, binds the kernel's
     own IPC folder and hides every other one, brings up loopback, and forks the kernel (C);
  3. C closes every inherited file descriptor, starts a new session, takes its rlimits, drops root for its own
     uid (no capabilities, no groups; no_new_privs comes from bwrap), takes the kernel's environment and starts
     ipykernel's IPKernelApp on the connection file, exactly as `python -m ipykernel_launcher -f` would;
  4. A relays the kernel's exit status to the grading process and kills the namespace when that socket closes
     (the grading process died or killed the kernel): a child lives only as long as its kernel.
Nothing a child does reaches the zygote or a sibling: they are separate processes (copy-on-write memory), in
separate pid, mount, network and IPC namespaces, under separate uids.
"""
import ctypes
import errno
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import sys
import threading

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
MNT_DETACH, PR_SET_PDEATHSIG = 2, 1
STAGE = "/run/lab2-ipc"  # where the zygote sees the grading process's folder of kernel IPC folders
WORK, TMPDIR = "/tmp/work", "/tmp/tmp"
HERE = os.path.dirname(os.path.abspath(__file__))
RLIMITS = {"address_space_bytes": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU,
           "processes": resource.RLIMIT_NPROC, "file_bytes": resource.RLIMIT_FSIZE}
libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount(source, target, fstype, flags, data=None):
    check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), ctypes.c_ulong(flags),
                     data and data.encode()), f"mount {target}")


def loopback_up():
    """The new network namespace's loopback, up (as bwrap does): a kernel may talk to itself, to no one else."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, request))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))  # SIOCSIFFLAGS |= IFF_UP


def makedirs(path, mode):
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        folder = "/" + "/".join(parts[:i])
        if not os.path.isdir(folder):
            os.mkdir(folder)
            os.chmod(folder, mode)


def build_sandbox(request):
    """In B, the new namespaces' init, as root: the child's own /proc, /tmp, devpts and IPC folder."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    check(libc.umount2(HERE.encode(), MNT_DETACH), f"umount {HERE}")  # this script's folder of the course: gone
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(request['limits']['disk_bytes'])},mode=0755")
    for folder in (TMPDIR, WORK):
        os.mkdir(folder)
        os.chmod(folder, 0o1777)
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    ipc = request["ipc_dir"]  # the kernel's own folder, at the path its connection file names
    makedirs(ipc, 0o755)
    mount(os.path.join(STAGE, request["ipc_rel"]), ipc, None, MS_BIND)
    check(libc.umount2(STAGE.encode(), MNT_DETACH), f"umount {STAGE}")  # every sibling's IPC folder: gone
    loopback_up()


def close_inherited_fds():
    """Nothing of the zygote's: stdin, stdout and stderr are /dev/null (as SafeExecute starts a kernel), and every
    other descriptor is closed (the zygote's control socket, its log, a sibling's anything)."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def run_kernel(request):
    """In C: the student's kernel. Never returns."""
    exit_with(lambda: start_kernel(request), "lab2-zygote")


def start_kernel(request):
    close_inherited_fds()
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for name, limit in RLIMITS.items():
        value = int(request["limits"][name])
        resource.setrlimit(limit, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    uid = int(request["uid"])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(WORK)
    import random
    import tempfile
    import numpy
    tempfile.tempdir = None
    random.seed()          # (Python reseeds `random` after a fork; numpy does not)
    numpy.random.seed()
    sys.path[0] = WORK     # as for `python -m ipykernel_launcher` started in WORK
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], *request.get("extra", [])]
    from ipykernel import kernelapp
    kernelapp.launch_new_instance(argv=sys.argv[1:])


def exit_with(start, who):
    """In a forked kernel: run `start()` (the kernel's setup, then IPKernelApp) and end the process with its exit
    code, as `python -m ipykernel_launcher` would: a SystemExit's code, 0 when it returns, 1 when it raised (a
    kernel that cannot start: its notebook sees a dead kernel; `who` names it on stderr). Never returns."""
    code = 1
    try:
        start()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException as err:
        try:
            os.write(2, f"{who}: the kernel did not start: {type(err).__name__}: {err}\n".encode())
        except OSError:
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def run_init(request, report):
    """In B, pid 1 of the new namespaces: build the sandbox, fork the kernel, reap until it is gone."""
    code = 1
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the holder gone: the whole namespace goes
        build_sandbox(request)
        kernel = os.fork()
        if kernel == 0:
            os.close(report)
            run_kernel(request)
        os.write(report, b"ok")
        os.close(report)
        signal.signal(signal.SIGINT, lambda *_: os.kill(kernel, signal.SIGINT))
        while True:  # as bwrap's init: reap every orphan, leave with the kernel's status
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid == kernel:
                code = os.waitstatus_to_exitcode(status)
                code = 128 - code if code < 0 else code
                break
    except BaseException as err:
        try:
            os.write(report, f"{type(err).__name__}: {err}".encode()[:4000])
        except OSError:
            pass
    os._exit(code)


def relay(conn, child):
    """In a holder, until its `child` ends: send the child's exit status over `conn`, or kill the child when `conn`
    closes (the other end is gone or killed the kernel). The child's exit code (1 when it was killed)."""
    import select
    pidfd = os.pidfd_open(child)
    while True:
        ready, _, _ = select.select([conn, pidfd], [], [])
        if pidfd in ready:
            _, status = os.waitpid(child, 0)
            code = os.waitstatus_to_exitcode(status)
            conn.sendall(json.dumps({"exit": code}).encode())
            return code
        if not conn.recv(4096):  # the other end is gone or killed the kernel: so goes the child (here: the namespace)
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return 1


def run_holder(conn, control):
    """In A: talk to the grading process, unshare, fork the namespace's init, relay its end."""
    code = 1
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # no death signal from the zygote: a zygote that dies leaves the kernels it forked running
        conn.sendall(json.dumps({"pid": os.getpid()}).encode())
        request = json.loads(conn.recv(1 << 20))
        check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP),
              "unshare")
        read, write = os.pipe()
        init = os.fork()
        if init == 0:
            conn.close()
            os.close(read)
            run_init(request, write)
        os.close(write)
        report = b""
        while chunk := os.read(read, 4096):
            report += chunk
        os.close(read)
        if report != b"ok":
            conn.sendall(json.dumps({"error": report.decode(errors="replace") or "the sandbox did not start"}).encode())
            os.kill(init, signal.SIGKILL)
            os._exit(1)
        conn.sendall(json.dumps({"started": True}).encode())
        signal.signal(signal.SIGINT, lambda *_: os.kill(init, signal.SIGINT))
        code = relay(conn, init)
    except BaseException as err:
        try:
            conn.sendall(json.dumps({"error": f"{type(err).__name__}: {err}"}).encode())
        except OSError:
            pass
    os._exit(code)


def reap(*_):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def preload():
    """What every kernel imports anyway, imported once: nothing here runs a torch op or starts a thread."""
    import IPython  # noqa: F401
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import torch.nn  # noqa: F401
    import torch.optim  # noqa: F401
    from torch.autograd import profiler  # noqa: F401
    from torch.overrides import TorchFunctionMode  # noqa: F401
    from torch.utils._python_dispatch import TorchDispatchMode  # noqa: F401
    from torch.utils.data import DataLoader  # noqa: F401
    import torch._dynamo  # noqa: F401  (the first op on the meta device imports it: 3.5 s per kernel otherwise)


def serve(control):
    preload()
    # Forking a process whose Python threads hold locks is not safe: refuse to serve. (numpy's OpenBLAS keeps a
    # native thread pool, which its own pthread_atfork handler stops before every fork.)
    if threading.active_count() != 1:
        control.sendall(json.dumps({"error": f"the zygote has {threading.active_count()} Python threads"}).encode())
        return 1
    control.sendall(json.dumps({"ready": True, "pid": os.getpid()}).encode())
    return fork_holders(control, run_holder)


def fork_holders(control, holder):
    """Serve: for each request on `control` (a message with one socket, SCM_RIGHTS), fork a holder that runs
    `holder(conn, control)` and never returns; reap the holders. 0 once the other end has closed `control`."""
    signal.signal(signal.SIGCHLD, reap)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
        except InterruptedError:
            continue
        except OSError as err:
            if err.errno == errno.EINTR:
                continue
            raise
        if not message:  # the grading process is gone
            return 0
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            continue
        conn = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            holder(conn, control)
        conn.close()


if __name__ == "__main__":
    sys.exit(serve(socket.socket(fileno=int(sys.argv[1]))))
