"""The student's notebook where students run it, not in the grader's venv (tools/student_envs.py). The supported range
is stated once (course.SUPPORTED) and said alike by the README, the notebook's opening cell and its first code cell,
which checks it. In a second environment, a venv of its own that this test builds (.student-envs/ci: torch 2.13.0's
CPU build, no torchvision), the reference answers and the untouched release run as a student runs them; in a folder
that holds only the notebook, loading MNIST says what is missing and where it goes. The matrix of other Pythons and
torches is the script's, run by hand (README: Students)."""
import ast
import re
import subprocess
import sys
import time

import pytest

import course
from tools import student_envs


def environment_cell():
    return next(c for c in course.read(course.source_nb()).cells if "lab2-environment" in course.tags(c))


def ranges():
    return [f"{name} {oldest}–{newest}" for name, (oldest, newest) in course.SUPPORTED.items()]


def test_the_supported_range_is_stated_once_and_said_alike():
    """course.SUPPORTED: the first code cell checks it, the notebook's opening cell and README's Students section state
    it, the matrix tries its oldest torch on its oldest Python and its newest torch on the newest Pythons."""
    nb = course.read(course.source_nb())
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "lab2-environment" in course.tags(first_code), first_code.source[:80]
    assigned = {t.id: n.value for n in ast.parse(first_code.source).body if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    assert ast.literal_eval(assigned["SUPPORTED"]) == course.SUPPORTED
    students = course.ROOT.joinpath("README.md").read_text(encoding="utf-8").split("## Students", 1)[1].split("\n## ")[0]
    for stated in ranges():
        assert stated in nb.cells[0].source and stated in first_code.source and stated in students, stated
    oldest = student_envs.ENVS["oldest"]
    assert oldest.python == course.SUPPORTED["Python"][0]
    assert f"torch=={course.SUPPORTED['torch'][0]}." in " ".join(oldest.packages)
    for python in ("3.12", course.SUPPORTED["Python"][1]):
        newest = [e for e in student_envs.ENVS.values() if e.python == python]
        assert newest and f"torch=={course.SUPPORTED['torch'][1]}." in " ".join(newest[0].packages), python


def test_the_first_cell_is_silent_in_range_and_says_one_line_per_version_outside_it(tmp_path):
    """Run as it is, in real interpreters: this venv's (in range: nothing) and an older Python with neither torch
    nor numpy (a line for each, and the cell ends normally: it never stops the notebook)."""
    script = tmp_path / "first_cell.py"
    script.write_text(environment_cell().source, encoding="utf-8")
    ours = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert ours.returncode == 0 and ours.stdout == "" and ours.stderr == "", ours
    try:
        old = student_envs.interpreter("3.9")
    except SystemExit:
        pytest.skip("no Python 3.9 on this machine")
    said = subprocess.run([str(old), "-I", str(script)], capture_output=True, text=True)
    lines = said.stdout.splitlines()
    assert said.returncode == 0 and said.stderr == "", said
    assert len(lines) == 3 and lines[0].startswith("你的 Python 是 3.9.") and "Python 3.10–3.13" in lines[0], lines
    assert lines[1].startswith("没有安装 torch") and "pip install" in lines[1], lines
    assert lines[2].startswith("没有安装 numpy") and "pip install" in lines[2], lines


# ---------------------------------------------------------------- the second environment (slow: it builds a venv)
@pytest.fixture(scope="module")
def ci_env():
    start = time.monotonic()
    python = student_envs.build("ci")
    print(f"\nthe second environment ({student_envs.ENVS['ci'].what}): {time.monotonic() - start:.1f} s to build or "
          "reuse")
    return python


@pytest.fixture(scope="module")
def checked(ci_env, tmp_path_factory):
    results, found = student_envs.check(ci_env, tmp_path_factory.mktemp("student_env"))
    print(student_envs.HEADER + "\n" + student_envs.row("ci", results, found))
    return results, found


@pytest.mark.slow
def test_the_second_environment_is_a_students_not_the_graders(checked):
    _, found = checked
    assert found["torch"].startswith("2.13.0") and found["missing"] == ["torchvision"], found


@pytest.mark.slow
def test_the_reference_answers_run_their_tests_and_get_their_advice(checked):
    """The rules cell and the 14 visible tests: no error, each test's advice finds nothing (the missing torchvision
    is no unreadable import); torchvision is named in one line and stops only the experiments that read MNIST."""
    problems, _ = checked[0]["reference"]
    assert problems == []


@pytest.mark.slow
def test_the_untouched_release_fails_its_tests_only_as_its_own(checked):
    """Each visible test fails with its assertion or the NotImplementedError of the part as handed out: no
    NameError, TypeError, ImportError."""
    problems, _ = checked[0]["release"]
    assert problems == []


@pytest.mark.slow
def test_a_folder_with_only_the_notebook_says_what_is_missing(checked, tmp_path):
    """There, loading MNIST says what to do in one line: in the second environment, install torchvision; in this
    venv, which has torchvision (the download fails on this machine), which four files go where."""
    problems, _ = checked[0]["mnist"]
    assert problems == []
    nb, seconds = student_envs.run(student_envs.mnist_nb(), tmp_path)
    found = student_envs.versions(sys.executable)
    assert found["missing"] == [] and student_envs.mnist_problems(nb, tmp_path, found) == []
    shown = "\n".join(o.get("evalue", "") for o in nb.cells[-1].outputs)
    print(f"this venv, a folder with only the notebook ({seconds:.1f} s): {shown}")
    assert re.search("找不到 MNIST 数据,也无法下载", shown), shown
