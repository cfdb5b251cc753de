"""The course is where you are: two course folders share one virtual environment, and every tool reads and writes
only the folder it is run in (or its --course), never the checkout the code was installed from."""
import hashlib
import re
import subprocess
import sys

import pytest

from conftest import make_course
from course import ROOT

pytestmark = pytest.mark.slow  # grades the sample class in one of the two courses

TOOLS = ROOT / "tools"


def snapshot(folder):
    """relative path -> sha256 of every file below `folder` (Python's caches left out)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def tool(name, *args, cwd):
    result = subprocess.run([sys.executable, str(TOOLS / name), *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{name} {args} in {cwd}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.stdout


def test_every_tool_works_on_the_course_it_is_run_in(tmp_path, mnist_dir):
    first, second = make_course(tmp_path / "first", mnist_dir), make_course(tmp_path / "second", mnist_dir)
    checkout = {name: snapshot(ROOT / name) if (ROOT / name).is_dir() else (ROOT / name).exists()
                for name in ("submitted", "autograded", "feedback", "gradebook.db", "class_report.html",
                             "integrity_report.md", "downloaded")}
    untouched = snapshot(second)

    tool("submissions.py", cwd=first)                          # the sample class, into the current folder
    tool("autograde_parallel.py", "--workers", "1", cwd=first)
    table = tool("grade_table.py", cwd=first)
    tool("integrity_report.py", cwd=first)
    tool("class_report.py", cwd=first)
    tool("release.py", "--check", cwd=first)
    status = tool("class_status.py", cwd=first)  # the local run's record and the SQLite gradebook
    assert "sample_complete" in table and "sample_mistakes" in table
    assert re.search(r"^class +4 +4 +0 +0 +0$", status, re.M) and "every student is graded" in status, status
    for made in ("class_report.html", "class_report.csv", "integrity_report.md", "gradebook.db"):
        assert (first / made).exists(), made
    assert len(list((first / "autograded").iterdir())) == 4

    assert snapshot(second) == untouched, "a tool run in the first course changed the second"
    other = tool("grade_table.py", "--course", str(second), cwd=first)  # --course names the other one
    assert "sample_complete" not in other
    now = {name: snapshot(ROOT / name) if (ROOT / name).is_dir() else (ROOT / name).exists() for name in checkout}
    assert now == checkout, "a tool wrote into the checkout it was installed from"
