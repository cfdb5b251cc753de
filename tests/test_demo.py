"""`bash tools/demo.sh`, as the README says: the sample class graded in a scratch course of its own, never in
the folder it runs from (a real course's gradebook and students stay untouched). The demo itself runs where users put
it (tests/test_places.py: from a clone under /tmp, through a symlink, in a Chinese path with a space, its venv
outside; as a user who is not root); here what it refuses, each in one line that says what to do."""
import os
import subprocess

import pytest

from course import ROOT, read
from course import source_nb as source_nb_path
from grading import parts
from tools import submissions

pytestmark = pytest.mark.slow  # runs the demo


def repository_state():
    """What a demo run in this folder would change: tracked files, and the course's own output folders."""
    status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    outputs = sorted(str(p.relative_to(ROOT)) for name in ("gradebook.db", "grades.csv", "submitted", "feedback",
                                                           "autograded", "integrity_report.md", "class_report.html")
                     for p in [ROOT / name] + (list((ROOT / name).rglob("*")) if (ROOT / name).is_dir() else [])
                     if p.exists())
    return status, outputs


def expected_rows():
    """The grade table's row of each sample, from the samples and the parts' points (the README shows it)."""
    source_nb = read(source_nb_path())
    for student, (answers, failing, _) in submissions.samples(source_nb).items():
        points = [sum(t.points for t in p.tests if t.grade_id not in failing) for p in parts.PARTS]
        manual = sum(q.points for q in parts.QUESTIONS if q.answer in answers)
        yield r"\s+".join([student, *(f"{v:.0f}" for v in points), f"{sum(points):.0f}",
                            f"{sum(parts.AUTOGRADED.values()):.0f}", f"{manual:.0f}"])


def test_demo_refuses_a_folder_that_exists(tmp_path):
    result = subprocess.run(["bash", "tools/demo.sh"], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, LAB2_DEMO_DIR=str(tmp_path)))
    assert result.returncode != 0 and "exists" in result.stderr


def test_a_venv_that_does_not_run_is_refused_in_one_line(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("not a program")  # as a venv whose Python this user cannot run
    result = subprocess.run(["bash", "tools/demo.sh"], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, LAB2_VENV=str(venv), LAB2_DEMO_DIR=str(tmp_path / "demo")))
    assert result.returncode != 0 and not (tmp_path / "demo").exists()
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    assert result.stderr.strip().splitlines() == [
        f"tools/env.sh: {venv}/bin/python does not run for {user} (its Python may lie in a folder this user cannot "
        "read): set LAB2_VENV to a virtual environment of your own, e.g. LAB2_VENV=$HOME/lab2-venv"], result.stderr
