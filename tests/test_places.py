"""Where users put the course: `bash tools/demo.sh` as the README says, from a clone under /tmp reached through a
symlink, in a path with a space and Chinese, its venv outside it and under /tmp (conftest: place; the Formgrader's
button is clicked there too: tests/test_formgrader.py), and as a user who is not root from a clone of that user's.
Each prints exactly the sample table, and no traceback. (The clone in a folder of its own with a venv installed in it,
the README's first command on a fresh machine, takes an install: run by hand, README "Tests".)"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import copy_checkout
from course import ROOT
from test_demo import expected_rows, repository_state
from tools import as_user

pytestmark = pytest.mark.slow  # the demo, twice

TA = as_user.DEFAULT_USER  # the user who is not root (made when the tests run as root)
PER_SUBMISSION = re.compile(r"autograde: (\d+) submissions in ([\d.]+) s \(([\d.]+) s per submission\)")


def snapshot(folder):
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def check_demo(result, demo):
    """The demo's output: exactly the sample table, its seconds per submission, no traceback; returns those seconds."""
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "Traceback" not in out, out[-4000:]
    for row in expected_rows():
        assert re.search(row, result.stdout), (row, result.stdout)
    assert f"scratch course: {demo}" in result.stdout
    seconds = float(PER_SUBMISSION.search(result.stdout).group(3))
    print(f"\n{demo}: the sample table, {seconds} s per submission")
    return seconds


def test_the_demo_from_a_clone_under_tmp_through_a_symlink_in_a_chinese_path_with_its_venv_outside(place):
    before, clone = repository_state(), snapshot(place.real / "lab2")
    demo = place.named / "demo"  # the scratch course in the same place
    result = subprocess.run(["bash", "tools/demo.sh"], cwd=place.clone, capture_output=True, text=True, timeout=1200,
                            env=dict(os.environ, LAB2_VENV=str(place.venv), LAB2_DEMO_DIR=str(demo),
                                     PWD=str(place.clone)))
    check_demo(result, demo)
    for name in ("gradebook.db", "grades.csv", "class_report.html", "integrity_report.md"):
        assert (demo / name).exists(), name
    assert snapshot(place.real / "lab2") == clone, "the demo changed files in the clone it ran from"
    assert repository_state() == before, "the demo changed files in this checkout"
    installed = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-I", "-c", "import course; print(course.ROOT)"],
                               capture_output=True, text=True).stdout.strip()
    assert not (ROOT / ".venv").is_dir() or installed == str(ROOT), "the clone's env.sh moved the shared venv's code"


@pytest.fixture(scope="module")
def ta_clone():
    """As root: a user who is not root (made if missing) and a clone of this checkout that is theirs under /tmp; the
    venv is the tree's (LAB2_VENV, read-only for them; tools/as_user.py makes its Python reachable). Run as another
    user, the whole suite already is that user's: skipped."""
    if os.geteuid() != 0:
        pytest.skip("this run is not root: every test here already runs as a user who is not root")
    if why := as_user.why_not():
        pytest.skip(why)
    as_user.ensure_user(TA)
    folder = Path(tempfile.mkdtemp(prefix="lab2-ta-", dir="/tmp"))
    copy_checkout(folder / "lab2")
    as_user.give(folder, TA)
    yield folder / "lab2", Path(sys.prefix)
    shutil.rmtree(folder, ignore_errors=True)


def as_ta(clone, venv, line, timeout=1200):
    """The bash `line` as TA in `clone`, with a login's plain environment and LAB2_VENV=venv."""
    env = {"LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin", "LAB2_VENV": str(venv), "PWD": str(clone)}
    return subprocess.run(as_user.command(TA, ["bash", "-c", line], env), cwd=clone, capture_output=True, text=True,
                          timeout=timeout)


def test_the_demo_and_the_zygotes_attacks_as_a_user_who_is_not_root(ta_clone):
    clone, venv = ta_clone
    demo = clone.parent / "demo"
    check_demo(as_ta(clone, venv, f"LAB2_DEMO_DIR={demo} bash tools/demo.sh"), demo)
    attacks = as_ta(clone, venv, "source tools/env.sh >/dev/null && PYTHONDONTWRITEBYTECODE=1 python -m pytest -q "
                                 "-p no:cacheprovider tests/test_zygote.py")
    summary = attacks.stdout.strip().splitlines()[-1] if attacks.stdout.strip() else ""
    print(f"\ntests/test_zygote.py as {TA}: {summary}")
    assert attacks.returncode == 0 and re.search(r"^\d+ passed in", summary), attacks.stdout[-4000:]
