"""The kernel zygote: imports torch and the kernel's modules once, then forks one sandboxed kernel per request.

It runs inside bubblewrap (grading/zygote.py starts it, one per grading process): the system and the Python
installation read-only, no network, none of the course (no gradebook, plans, seeds or grader state: it holds
only the libraries it imported). It keeps capabilities only to build each child's sandbox and never runs a line of a
student's code itself: as root, root's; as another user, uid 0 of bwrap's own user namespace (which maps only the
TA's uid) with the four capabilities grading/zygote.py's ROOTLESS_CAPS names, there and nowhere else. Each request
comes on its control socket with one new socket of the grading process and the kernel's stderr pipe (SCM_RIGHTS);
for it the zygote forks the "holder" (A), which:
  1. tells the grading process its pid; is told the kernel's uid, connection file, limits, environment and the
     paths it runs from (the interpreter, the venv: grading/jupyter/kernels/lab2-sandbox/launch.py's runtime_paths);
  2. unshares new mount, pid, network, IPC, UTS and cgroup namespaces and forks the namespace's init (B, pid 1),
     which mounts a fresh /proc, a private tmpfs /tmp of the disk budget, its own devpts, binds again (read-only)
     what the kernel runs from where that lay under /tmp, binds the kernel's own IPC folder and hides every other
     one, brings up loopback, and forks the kernel (C);
  3. C closes every inherited file descriptor (its stderr is the grading process's pipe, kept until the kernel is
     ready: grading/kernel_stderr.py), starts a new session, takes its rlimits and gives up every capability: as
     root it drops root for its own uid (no capabilities, no groups); as another user it enters a user namespace of
     its own under the TA's uid (its process limit then counts its own processes) and empties its capability sets;
     no_new_privs comes from bwrap. It takes the kernel's environment and starts ipykernel's IPKernelApp on the
     connection file, exactly as `python -m ipykernel_launcher -f` would;
  4. A makes the kernel's IPC folder read-only once the grading process says the kernel is ready, relays the
     kernel's exit status to the grading process and kills the namespace when that socket closes (the grading
     process died or killed the kernel): a child lives only as long as its kernel.
Nothing a child does reaches the zygote or a sibling: they are separate processes (copy-on-write memory), in
separate pid, mount, network and IPC namespaces, under separate uids (as root) or separate user namespaces.
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
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUSER = 0x20000000, 0x40000000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MNT_DETACH, PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 2, 1, 24, 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
STAGE = "/run/lab2-ipc"  # where the zygote sees the grading process's folder of kernel IPC folders
REPLACED = ("/tmp", "/dev")  # what a child mounts anew: what the kernel runs from, if it lies below, is bound again
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


def below(path, folders):
    return any(path == folder or path.startswith(folder + "/") for folder in folders)


def hold_runtime(request):
    """Before the child's own /tmp: a handle (O_PATH) on each folder the kernel runs from (the interpreter, the venv:
    the grading process's runtime paths) that lies where the child mounts anew, so that it can be bound again."""
    return [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in request.get("keep", ())
            if below(path, REPLACED) and path not in REPLACED]


def bind_again(held):
    """After the child's own /tmp: each held folder bound at its path again, read-only (bound from its handle: what
    the tmpfs covers stays reachable that way, and only that)."""
    for path, fd in held:
        makedirs(path, 0o755)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)


def build_sandbox(request):
    """In B, the new namespaces' init, with the capabilities of the zygote's namespace: the child's own /proc, /tmp,
    devpts and IPC folder, and what the kernel runs from still at its path."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    check(libc.umount2(HERE.encode(), MNT_DETACH), f"umount {HERE}")  # this script's folder of the course: gone
    held = hold_runtime(request)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(request['limits']['disk_bytes'])},mode=0755")
    for folder in (TMPDIR, WORK):
        os.mkdir(folder)
        os.chmod(folder, 0o1777)
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    bind_again(held)
    ipc = request["ipc_dir"]  # the kernel's own folder, at the path its connection file names
    makedirs(ipc, 0o755)
    mount(os.path.join(STAGE, request["ipc_rel"]), ipc, None, MS_BIND)
    check(libc.umount2(STAGE.encode(), MNT_DETACH), f"umount {STAGE}")  # every sibling's IPC folder: gone
    loopback_up()


def ipc_read_only(request):
    """In the holder, once the kernel is ready (it has made its sockets): its IPC folder read-only to it, so that all
    it can write is its own tmpfs (the disk budget). As root the grading process also takes the folder back."""
    mount(None, request["ipc_dir"], None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def close_inherited_fds(stderr=None):
    """Nothing of the zygote's: stdin and stdout are /dev/null and stderr is the grading process's pipe (as SafeExecute
    starts a kernel: grading/kernel_stderr.py; /dev/null without one), and every other descriptor is closed (the
    zygote's control socket, its log, a sibling's anything)."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if stderr is not None:
        os.dup2(stderr, 2)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def own_user_namespace(uid, gid):
    """Grading as a user who is not root (the zygote is uid 0 of bwrap's user namespace, which maps only the TA's
    uid): the kernel in a user namespace of its own, as `uid` and `gid` there (the TA's, mapped to that one uid), so
    that it is not root there, its process limit counts its own processes only (RLIMIT_NPROC counts per user
    namespace), and it holds no capability over the namespaces its init built."""
    parent_uid, parent_gid = os.getuid(), os.getgid()
    check(libc.unshare(CLONE_NEWUSER), "unshare a user namespace")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {parent_uid} 1"),
                       ("gid_map", f"{gid} {parent_gid} 1")):
        try:
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        except OSError as err:
            if name != "setgroups":  # (already "deny", as bwrap left it: it cannot change)
                raise OSError(err.errno, f"write /proc/self/{name}: {err.strerror}") from err


def drop_capabilities():
    """No capability left: not in the bounding set, not ambient, not effective, permitted or inheritable (a process
    whose uid does not change keeps the ones it has; no_new_privs, from bwrap, keeps exec from giving any)."""
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    check(libc.capset(header, data), "capset")


def run_kernel(request, stderr=None):
    """In C: the student's kernel. Never returns."""
    exit_with(lambda: start_kernel(request, stderr), "lab2-zygote")


def start_kernel(request, stderr=None):
    close_inherited_fds(stderr)
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if request.get("rootless"):  # before the limits: the process limit of the namespace above stays the TA's
        own_user_namespace(int(request["uid"]), int(request["gid"]))
    for name, limit in RLIMITS.items():
        value = int(request["limits"][name])
        resource.setrlimit(limit, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if request.get("rootless"):
        drop_capabilities()
    else:  # as root: a uid of its own (dropping root drops every capability)
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


def run_init(request, report, stderr=None):
    """In B, pid 1 of the new namespaces: build the sandbox, fork the kernel, reap until it is gone."""
    code = 1
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the holder gone: the whole namespace goes
        build_sandbox(request)
        kernel = os.fork()
        if kernel == 0:
            os.close(report)
            run_kernel(request, stderr)
        if stderr is not None:
            os.close(stderr)  # the kernel's alone: the pipe ends with the kernel
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


def relay(conn, child, answer=None):
    """In a holder, until its `child` ends: send the child's exit status over `conn`, or kill the child when `conn`
    closes (the other end is gone or killed the kernel); a message that comes on `conn` is answered with
    `answer(message)`. The child's exit code (1 when it was killed)."""
    import select
    pidfd = os.pidfd_open(child)
    while True:
        ready, _, _ = select.select([conn, pidfd], [], [])
        if pidfd in ready:
            _, status = os.waitpid(child, 0)
            code = os.waitstatus_to_exitcode(status)
            conn.sendall(json.dumps({"exit": code}).encode())
            return code
        message = conn.recv(4096)
        if not message:  # the other end is gone or killed the kernel: so goes the child (here: the namespace)
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return 1
        if answer is not None:
            conn.sendall(json.dumps(answer(message)).encode())


def holder_answer(request):
    """What a holder does when the grading process says the kernel is ready: the IPC folder made read-only."""
    def answer(message):
        try:
            if json.loads(message).get("ready"):
                ipc_read_only(request)
                return {"read_only": True}
            return {"error": "unknown request"}
        except (OSError, ValueError) as err:
            return {"error": f"{type(err).__name__}: {err}"}
    return answer


def run_holder(conn, control, stderr=None):
    """In A: talk to the grading process, unshare, fork the namespace's init, relay its end. `stderr`: the grading
    process's pipe for the kernel's stderr (grading/kernel_stderr.py)."""
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
            run_init(request, write, stderr)
        os.close(write)
        if stderr is not None:
            os.close(stderr)
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
        code = relay(conn, init, holder_answer(request))
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
    import ipykernel.debugger  # noqa: F401  (IPKernelApp imports it, debugpy with it: 0.2 CPU-s per kernel otherwise)
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
    """Serve: for each request on `control` (a message with one socket and, for a grading kernel, its stderr pipe,
    SCM_RIGHTS), fork a holder that runs `holder(conn, control[, stderr])` and never returns; reap the holders. 0 once
    the other end has closed `control`."""
    signal.signal(signal.SIGCHLD, reap)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 2)
        except InterruptedError:
            continue
        except OSError as err:
            if err.errno == errno.EINTR:
                continue
            raise
        if not message:  # the grading process is gone
            return 0
        if not fds:
            continue
        conn = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            holder(conn, control, *fds[1:])
        conn.close()
        for fd in fds[1:]:
            os.close(fd)


if __name__ == "__main__":
    sys.exit(serve(socket.socket(fileno=int(sys.argv[1]))))
