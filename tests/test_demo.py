"""`bash tools/demo.sh`, as the README says: the sample class graded in a scratch course of its own, never in
this folder (a real course's gradebook and students stay untouched)."""
import os
import re
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


def test_demo_grades_the_sample_class_in_a_scratch_course(tmp_path):
    before = repository_state()
    demo = tmp_path / "demo"
    result = subprocess.run(["bash", "tools/demo.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1200,
                            env=dict(os.environ, LAB2_DEMO_DIR=str(demo)))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for row in expected_rows():
        assert re.search(row, out), (row, out)
    assert f"scratch course: {demo}" in out
    for name in ("gradebook.db", "grades.csv", "class_report.html", "integrity_report.md"):
        assert (demo / name).exists(), name
    assert repository_state() == before, "the demo changed files in the repository"


def test_demo_refuses_a_folder_that_exists(tmp_path):
    result = subprocess.run(["bash", "tools/demo.sh"], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, LAB2_DEMO_DIR=str(tmp_path)))
    assert result.returncode != 0 and "exists" in result.stderr
