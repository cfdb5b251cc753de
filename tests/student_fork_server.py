"""The advice run's fork server, the server's side (started by tests/student_forks.py, one per advice process):
torch, numpy, IPython and ipykernel imported once, then one new kernel process forked per notebook.

Per kernel it forks a holder, which forks the kernel: the kernel starts a session of its own, closes what it
inherited, takes the kernel's environment, folder and fresh seeds and starts ipykernel's IPKernelApp on its
connection file, as `python -m ipykernel_launcher -f FILE` would. The holder relays the kernel's exit status over
the kernel's own socket and kills the kernel when that socket closes (the grading zygote's relay: zygote_server.py).
Each dies with its parent (PR_SET_PDEATHSIG): server with the run, holder with the server, kernel with its holder.
The run does not rely on the holder alone to learn of a kernel's death: it watches the kernel's pidfd too.
Nothing of `grading` is imported here (a student's fresh kernel does not hold it): the zygote's server is read
from its file.
"""
import ctypes
import importlib.util
import json
import os
import signal
import socket
import sys
import tempfile
import threading

PR_SET_PDEATHSIG = 1


def _zygote_server():
    """grading/jupyter/kernels/lab2-zygote/zygote_server.py, loaded from its file: its preload (what every kernel
    imports anyway: one list for both), its loop that forks holders, a holder's relay, a kernel's exit."""
    grading = importlib.util.find_spec("grading").submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location(
        "lab2_zygote_server", os.path.join(grading, "jupyter", "kernels", "lab2-zygote", "zygote_server.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


zygote_server = _zygote_server()


def die_with(parent):
    """SIGKILL when `parent` dies (the kernel's own `os._exit`s never reach it: only a parent's death does)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl
        os._exit(1)


def run_kernel(request, holder):
    """In the kernel's process: become what `python -m ipykernel_launcher` would be, and run it. Never returns."""
    zygote_server.exit_with(lambda: start_kernel(request, holder), "student_forks")


def start_kernel(request, holder):
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


def run_holder(conn, control, server):
    """In the holder: fork the kernel, send its pid, then relay its exit status (or kill it when its socket closes)."""
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
        zygote_server.relay(conn, kernel)
    except BaseException as err:
        try:
            conn.sendall(json.dumps({"error": f"{type(err).__name__}: {err}"}).encode())
        except OSError:
            pass
    os._exit(0)


def serve(control, run):
    die_with(run)
    zygote_server.preload()  # imports only: no torch op, no thread
    if threading.active_count() != 1:  # forking a process whose Python threads hold locks is not safe
        control.sendall(json.dumps({"error": f"{threading.active_count()} Python threads"}).encode())
        return 1
    control.sendall(json.dumps({"ready": True}).encode())
    server = os.getpid()
    return zygote_server.fork_holders(control, lambda conn, control: run_holder(conn, control, server))


if __name__ == "__main__":
    sys.exit(serve(socket.socket(fileno=int(sys.argv[1])), int(sys.argv[2])))
