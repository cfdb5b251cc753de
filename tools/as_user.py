"""Run a command as a user who is not root, for the tests and the benchmarks that must see what such a TA sees
(tests/test_places.py, benchmarks/zygote.py --as-user): run as root, with runuser, a login's plain environment, and
this venv's Python reachable for that user.

The venv's Python may lie where only root can pass (pyenv under /root): then the command runs in a mount namespace
of its own (unshare --mount) in which each such folder is an open tmpfs holding only the way to the Python, bound
from the real one. The machine's folders and their modes stay as they are; a TA's machine has its Python where users
can read it (/usr, /opt), so this only puts this machine in that state for one command.
"""
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT_USER = "lab2-ta"


def ensure_user(name=DEFAULT_USER):
    """The user `name`, made (useradd, with a home) when missing; as root only."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
        return pwd.getpwnam(name)


def why_not():
    """Why commands cannot be run as another user here, or None."""
    if os.geteuid() != 0:
        return "this process is not root: it cannot run a command as another user"
    missing = [tool for tool in ("runuser", "unshare", "useradd") if shutil.which(tool) is None]
    return f"missing {', '.join(missing)} (util-linux, passwd)" if missing else None


def give(folder, user):
    """`folder` and everything in it, owned by `user` (a clone of theirs)."""
    for path in [Path(folder), *Path(folder).rglob("*")]:
        shutil.chown(path, user, user)


def closed_folders(user, path):
    """The folders above `path` that `user` may not pass through (no x for them: /root above /root/.pyenv)."""
    info = pwd.getpwnam(user)
    closed = []
    for folder in list(reversed(Path(os.path.realpath(path)).parents))[1:]:
        mode = folder.stat()
        if not (mode.st_mode & 0o001 or mode.st_uid == info.pw_uid and mode.st_mode & 0o100
                or mode.st_gid == info.pw_gid and mode.st_mode & 0o010):
            closed.append(folder)
    return closed


def opened_for(user, path):
    """A shell line that makes `path` reachable for `user` in the command's own mount namespace, or ''."""
    lines, target = [], Path(os.path.realpath(path))
    for i, folder in enumerate(closed_folders(user, path)):
        child = folder / target.relative_to(folder).parts[0]
        stage = f"/tmp/.lab2-stage-{os.getpid()}-{i}"
        lines += [f"mkdir -p {stage}", f"mount --bind {child} {stage}", f"mount -t tmpfs -o mode=0755 tmpfs {folder}",
                  f"mkdir {child}", f"mount --move {stage} {child}", f"rmdir {stage}"]
    return " && ".join(lines)


def command(user, argv, env):
    """`argv` as `user` with exactly `env` (plus HOME, USER, LOGNAME), this venv's Python reachable: the argv to run."""
    info = pwd.getpwnam(user)
    env = dict(env, HOME=info.pw_dir, USER=user, LOGNAME=user)
    run = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
    opened = opened_for(user, sys.base_prefix)
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", f'{opened} && exec "$@"', "sh", *run] \
        if opened else run
