"""Shared fixtures: an MNIST-format data folder, a temporary nbgrader course, the graded samples; a Jupyter server."""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from tools import prepare_data, submissions
from course import ASSIGNMENT, ROOT, copy_course, read, release_nb, source_nb

SOURCE_NB, RELEASE_NB = source_nb(), release_nb()

# The modules that take half a minute or more, longest first (a clean clone's --durations, 2026-12-07):
# tools/test.sh hands whole modules to one pytest process per core in the order collected, so these start first
# and the short ones fill in behind them.
LONGEST_FIRST = ("test_corpus.py", "test_sandbox.py", "test_experiments.py", "test_autograde.py", "test_places.py",
                 "test_postgres.py", "test_student_forks.py", "test_fault_injection.py", "test_slurm.py",
                 "test_release.py", "test_new_part.py", "test_similarity.py", "test_xss_browser.py",
                 "test_course_folders.py", "test_grader_bug.py", "test_student_env.py", "test_formgrader.py",
                 "test_demo.py", "test_zygote.py", "test_benchmarks.py", "test_class_hands_in.py", "test_zip_budget.py")


def pytest_collection_modifyitems(items):
    """The longest modules first (LONGEST_FIRST), the others after them in their own order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def nbgrader(course, *args, check=True, env=None):
    """Run the real nbgrader CLI in `course` (with `env` added to the environment)."""
    result = subprocess.run(["nbgrader", *args], cwd=course, capture_output=True, text=True,
                            env=dict(os.environ, **env) if env else None)
    if check and result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def source_nb():
    return read(SOURCE_NB)


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory):
    """A data folder with MNIST/raw/ that torchvision's MNIST class reads: real digits from
    ../shared/mnist when it exists, a synthetic stand-in otherwise."""
    data = tmp_path_factory.mktemp("data")
    print(prepare_data.build_mnist_folder(data))
    return data


def make_course(path, mnist_dir):
    """A fresh course folder: config, grading helpers, source, data; release generated."""
    return copy_course(path, mnist_dir)


@pytest.fixture(scope="session")
def base_course(tmp_path_factory):
    """A fresh course made from this checkout, its release generated and no data (nbgrader generate_assignment: once
    per session, the generation `python tools/release.py --check` makes): the drift check, zip_collect's tests."""
    return copy_course(tmp_path_factory.mktemp("lms_course"))


@pytest.fixture(scope="session")
def course(tmp_path_factory, base_course, mnist_dir):
    """base_course with the data folder: a copy of the same generation (the release does not depend on the data)."""
    folder = tmp_path_factory.mktemp("course")
    shutil.copytree(base_course, folder, symlinks=True, dirs_exist_ok=True)
    shutil.copytree(mnist_dir, folder / "data")
    return folder


def autograde(course):
    """Autograde everything in course/submitted; return the seconds it took."""
    start = time.time()
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return time.time() - start


@pytest.fixture(scope="session")
def graded_samples(course):
    """The sample submissions of tools/submissions.py, autograded once for the whole session."""
    expected = submissions.write_samples(course)
    seconds = autograde(course)
    print(f"\nautograde of {len(expected)} sample submissions: {seconds:.1f} s "
          f"({seconds / len(expected):.1f} s per submission)")
    return expected


@pytest.fixture(scope="session")
def parallel_class(tmp_path_factory, mnist_dir):
    """The sample class and the files of tests/handed_in.py (a BOM, a tag with a comma, repeated ids; an empty file, a
    cut one, a script, GBK), graded once with tools/autograde_parallel.py: (the course, student -> the bytes
    submitted, student -> why not graded)."""
    import handed_in
    from tools import autograde_parallel
    folder = make_course(tmp_path_factory.mktemp("parallel"), mnist_dir)
    submissions.write_samples(folder)
    files = handed_in.write(folder)
    return folder, files, autograde_parallel.autograde_parallel(folder, workers=2, quiet=True)


class Place(NamedTuple):
    """Where users put a course (tests/test_places.py): `named` is a symlink to `real`, a folder under /tmp whose
    name has a space and Chinese; `clone` (named/lab2) holds this checkout's files; `venv` lies outside it, under
    /tmp; `env` is the environment a TA has there after `source tools/env.sh` with LAB2_VENV=venv."""
    root: Path
    real: Path
    named: Path
    clone: Path
    venv: Path
    env: dict


def copy_checkout(dest, src=ROOT, names=()):
    """This checkout's files as a clone has them (git's tracked and unignored files of the working tree), or only
    those of `names` (files or folders)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *names], cwd=src,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (src / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dest / name)
    return dest


def venv_elsewhere(dest, venv=Path(sys.prefix)):
    """The tree's venv at `dest` without a second install: its files hard-linked (same filesystem) with its scripts
    pointed at `dest`, as pip would have written them there; else a symlink to it (another filesystem)."""
    try:
        subprocess.run(["cp", "-al", str(venv), str(dest)], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        dest.symlink_to(venv)
        return dest
    return scripts_for(dest, venv)


def scripts_for(dest, venv=Path(sys.prefix)):
    """The console scripts of `venv` (nbgrader, jupyter, ...) in dest/bin, each a new file run by dest's Python."""
    old, new = f"#!{venv}/bin/python".encode(), f"#!{dest}/bin/python".encode()
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink() and script.read_bytes().startswith(old):
            text, mode, mine = script.read_bytes(), script.stat().st_mode, dest / "bin" / script.name
            mine.unlink(missing_ok=True)  # a new file: the tree's venv keeps its own
            mine.write_bytes(new + text[len(old):])
            mine.chmod(mode)
    return dest


def ta_environment(clone, venv):
    """The environment after `source tools/env.sh` in `clone` with LAB2_VENV=venv (as a TA's shell has it)."""
    result = subprocess.run(["bash", "-c", "source tools/env.sh >&2 && env -0"], cwd=clone, capture_output=True,
                            env=dict(os.environ, LAB2_VENV=str(venv), PWD=str(clone)), check=True)
    return dict(line.split("=", 1) for line in result.stdout.decode().split("\0") if "=" in line)


@pytest.fixture(scope="session")
def place():
    """A clone under /tmp, reached through a symlink, in a path with a space and Chinese, its venv outside it."""
    root = Path(tempfile.mkdtemp(prefix="lab2-place-", dir="/tmp"))
    real = root / "课程 2026"
    (real / "lab2").mkdir(parents=True)
    (root / "courses").symlink_to(real.name)
    named = root / "courses"
    copy_checkout(real / "lab2")
    venv = venv_elsewhere(root / "venv")
    yield Place(root, real, named, named / "lab2", venv, ta_environment(named / "lab2", venv))
    shutil.rmtree(root, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_server(folder, env, name):
    """`jupyter server` on 127.0.0.1 serving the course (the Formgrader is nbgrader's server extension), started in it
    as a TA starts it (`cd` there, then `jupyter server`: its root is the folder as the system names it, symlinks
    resolved; nbgrader's Formgrader compares that root with the course's unresolved, so a root_dir given through a
    symlink would break it: README, "TAs")."""
    port, token = free_port(), secrets.token_hex(16)
    log = open(folder / f"jupyter_{name}.log", "w")
    proc = subprocess.Popen(["jupyter", "server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={os.path.realpath(folder)}"], cwd=folder, stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/formgrader/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"jupyter server {name} did not start:\n" + (folder / f"jupyter_{name}.log").read_text())
        yield base, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
