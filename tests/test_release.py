"""source/ -> release/ -> root copy: generated, stripped of answers, never drifting."""
import subprocess
import sys

import nbformat
import pytest

from conftest import RELEASE_NB, SOURCE_NB, nbgrader
from course import ROOT, meta
from grading import parts
from tools import release


def test_release_and_root_copy_match_a_fresh_generation(base_course):
    """What `python tools/release.py --check` compares, against this session's fresh generation (base_course: made
    from this checkout by course.copy_course, as --check makes its own)."""
    stale = release.check(ROOT, fresh_course=base_course)
    assert not stale, f"out of date with source/: {stale} -- run: python tools/release.py"


@pytest.mark.slow  # the command itself (its own generation: 20 s); the fast tier checks the same on base_course
def test_the_check_command_passes():
    result = subprocess.run([sys.executable, "tools/release.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_release_holds_no_solution_and_no_hidden_test():
    text = RELEASE_NB.read_text(encoding="utf-8")
    # (the rules cell names the grader's modules as code a student must not touch; no call of them is there)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "lab2_probe.check(", "import lab2_probe",
                   "lab2_grader.judge", "import lab2_grader", "参考要点", "MARK SCHEME", "评分要点"):
        assert marker not in text, f"the release contains {marker!r}"
    release = nbformat.read(str(RELEASE_NB), as_version=4)
    answers = [c for c in release.cells if meta(c).get("solution")]
    assert len(answers) == len(parts.PARTS) + len(parts.QUESTIONS), \
        f"{len(answers)} answer cells in the release; declared: {len(parts.PARTS)} parts and {len(parts.QUESTIONS)} 思考题"
    for cell in answers:
        stub = "raise NotImplementedError()" if cell.cell_type == "code" else "请在这里写下你的回答。"
        assert stub in cell.source, meta(cell)["grade_id"]


def test_source_notebook_passes_nbgrader_validate(course):
    result = nbgrader(course, "validate", str(SOURCE_NB.relative_to(ROOT)))
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout + result.stderr


@pytest.mark.slow  # 25 s; the fast tier checks the release's stubs (test_release_holds_no_solution_and_no_hidden_test)
def test_release_fails_nbgrader_validate(course):
    result = nbgrader(course, "validate", str(RELEASE_NB.relative_to(ROOT)), check=False)
    assert "NotImplementedError" in result.stdout + result.stderr
    assert "Success!" not in result.stdout
