"""Start the IPython kernel for one student's notebook inside a bubblewrap sandbox.

nbgrader (outside) talks to the kernel through IPC sockets in a folder of this kernel's own
(grading/kernels.py makes one per kernel, KernelManager.transport = "ipc"), so the sandbox needs no
network at all. Inside it the kernel sees:
  - the system, the Python installation and the virtual environment, read-only, wherever they lie (under /tmp,
    behind a symlink: runtime_paths);
  - a private /tmp: a tmpfs of the disk budget holding its working directory (/tmp/work) and its temp
    folder (/tmp/tmp), the only places it can write, so everything it writes counts against that budget;
  - its IPC folder (grading/kernels.py takes write access to it away once the kernel is up, when run as root).
Autograde runs no experiment (grading/student_runs.py), so the kernel needs neither the submission's folder
nor the data: the gradebook, source/, release/, data/, every student's folder and the TA's home are not
there. No network (its own empty network namespace), its own process namespace (everything dies with the
kernel), and limits on memory, CPU time, processes and file size. Run as root, the kernel also drops to a
uid of its own (no user name, no home), so that the per-uid process limit is per kernel.
"""
import json
import os
import resource
import shutil
import sys
import tempfile

FIRST_UID = 100000  # as root, each kernel runs as a uid of its own: FIRST_UID + the launcher's pid
WORK, TMPDIR = "/tmp/work", "/tmp/tmp"  # the kernel's working directory and temp folder, both in its tmpfs
GRADING = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROBE_RULES = ("recorder.py", "inputs.py")  # grading/rules/ files the probe loads (grading/lab2_probe.py: RULES)
# The limits are nbgrader settings of SafeExecute (c.SafeExecute.disk_budget_mb, kernel_memory_gb, ...), which
# passes them here as LAB2_LIMITS; grading needs about 1 GB and a few seconds of CPU.
RLIMITS = {"address_space_bytes": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU,
           "processes": resource.RLIMIT_NPROC, "file_bytes": resource.RLIMIT_FSIZE}
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "PYTHONHASHSEED")


def folders_above(binds):
    """bwrap makes the folders above a mount point readable by root only: make them 0755 first."""
    targets = [binds[i + 2] for i, a in enumerate(binds) if a in ("--bind", "--ro-bind")]
    above = sorted({p for t in targets for p in (os.path.dirname(t[:i]) for i in range(len(t)) if t[i] == "/")
                    if p not in ("", "/")} | {os.path.dirname(t) for t in targets} - {"/", "/tmp"})
    return [x for p in above for x in ("--perms", "0755", "--dir", p)]


def prepare(connection_file, ipc_dir, uid):
    """A private folder for this kernel: its connection file and a copy of the hidden tests' probe (the grader
    itself never enters the kernel). The startup file deletes the folder once the probe is loaded, before any
    student code runs. As root (uid given), the kernel's uid owns its IPC folder."""
    private = tempfile.mkdtemp(prefix="k-", dir=ipc_dir)
    shutil.copyfile(connection_file, os.path.join(private, "connection.json"))
    shutil.copyfile(os.path.join(GRADING, "lab2_probe.py"), os.path.join(private, "lab2_probe.py"))
    os.mkdir(os.path.join(private, "rules"))
    for name in PROBE_RULES:  # the probe's recorder and inputs
        shutil.copyfile(os.path.join(GRADING, "rules", name), os.path.join(private, "rules", name))
    shutil.copytree(os.path.join(GRADING, "ipython"), os.path.join(private, "ipython"))
    if uid is not None:
        for root, dirs, files in os.walk(ipc_dir):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.chown(name, uid, uid)
    return private


def inside(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def of_an_environment(path):
    """Whether `path` lies in a Python environment (a folder above it holds pyvenv.cfg): a venv's site-packages."""
    while (parent := os.path.dirname(path)) != path:
        if os.path.exists(os.path.join(path, "pyvenv.cfg")):
            return True
        path = parent
    return False


def reaches_the_course(path):
    """Whether binding `path` would show the course: the checkout this file is in (or a folder inside it, or one that
    holds it), or the current folder."""
    checkout = os.path.realpath(os.path.dirname(GRADING))
    return inside(path, checkout) or inside(checkout, path) or path == os.path.realpath(os.getcwd())


def runtime_paths():
    """What a kernel runs from, wherever it lies (under /tmp, behind a symlink): the Python installation, the virtual
    environment, the interpreter's folder, and every other folder on this Python's path (a user site, a folder a .pth
    file adds: the kernel's Python adds it too), as (the real path, the path it is seen at) pairs. A path named
    through a symlink is seen at both its real path and its named path (the interpreter is started by its name, and
    Python finds its venv from it). Never the course: the checkout this file is in, a folder holding it, the current
    folder and the script's folder are left out (a folder inside the checkout only when it is a venv's). /usr is
    bound whole (system_binds)."""
    prefixes = [sys.base_prefix, sys.prefix, os.path.dirname(sys.executable)]
    others = [p for p in sys.path[1:] if p and os.path.exists(p)]
    pairs = []
    for path in prefixes + others:
        real = os.path.realpath(path)
        if path in others and not of_an_environment(real) and reaches_the_course(real):
            continue
        for seen in dict.fromkeys((real, os.path.abspath(path))):
            if inside(seen, "/usr") or (real, seen) in pairs:
                continue
            if any(inside(seen, other) and real == os.path.join(source, os.path.relpath(seen, other))
                   for source, other in pairs):
                continue  # already seen there, inside a folder bound above it
            pairs.append((real, seen))
    return sorted(pairs, key=lambda pair: pair[1].count("/"))


def system_binds():
    """The system, the Python installation and the virtual environment, read-only."""
    binds = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            binds += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            binds += ["--ro-bind", top, top]
    for real, seen in runtime_paths():
        binds += ["--ro-bind", real, seen]
    return binds


def base_env():
    """The environment every kernel starts with (the zygote's too): nothing of the grader's."""
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env.update(HOME="/tmp", USER="student", TMPDIR=TMPDIR, MPLCONFIGDIR=f"{TMPDIR}/matplotlib",
               XDG_CACHE_HOME=f"{TMPDIR}/cache")
    return env


def kernel_env(private):
    return dict(base_env(), IPYTHONDIR=os.path.join(private, "ipython"),
                LAB2_PROBE=os.path.join(private, "lab2_probe.py"), LAB2_PRIVATE=private)


def main():
    args = sys.argv[1:]
    connection_file = args[args.index("-f") + 1]
    extra = [a for i, a in enumerate(args) if a != "-f" and (i == 0 or args[i - 1] != "-f")]
    with open(connection_file) as f:
        info = json.load(f)
    if info.get("transport") != "ipc":
        sys.exit("lab2-sandbox: the kernel must use IPC sockets (KernelManager.transport = 'ipc')")
    ipc_dir = os.path.dirname(info["ip"])
    try:
        limits = json.loads(os.environ["LAB2_LIMITS"])
    except (KeyError, ValueError):
        sys.exit("lab2-sandbox: no LAB2_LIMITS; this kernel is started by grading/safe_execute.py (nbgrader autograde)")
    as_root = os.geteuid() == 0
    # The process limit counts per uid: with a uid per kernel, one student's fork bomb cannot use up
    # another kernel's processes. The launcher's pid is unique while its kernel runs (bwrap replaces it).
    uid = FIRST_UID + os.getpid()
    private = prepare(connection_file, ipc_dir, uid if as_root else None)
    binds = system_binds()
    env = kernel_env(private)
    setenv = [x for k, v in env.items() for x in ("--setenv", k, v)]
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", os.path.join(private, "connection.json"), *extra]
    if as_root:  # bwrap mounts as root; inside, the kernel gives up root for its own uid
        unshare = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        kernel = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--",
                  *kernel]
    else:
        unshare = ["--unshare-all"]
    binds += ["--bind", ipc_dir, ipc_dir]
    # /tmp itself is read-only for the kernel's uid: it writes into its working directory or its temp folder
    command = ["bwrap", *unshare, "--die-with-parent", "--new-session", "--clearenv", *setenv,
               "--proc", "/proc", "--dev", "/dev", "--size", str(int(limits["disk_bytes"])), "--tmpfs", "/tmp",
               "--perms", "1777", "--dir", TMPDIR, "--perms", "1777", "--dir", WORK,
               *folders_above(binds), *binds, "--chdir", WORK, "--", *kernel]
    for name, limit in RLIMITS.items():
        resource.setrlimit(limit, (int(limits[name]), int(limits[name])))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
