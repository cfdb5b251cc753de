"""A bug in the grader is the grader's: an exception in the grading process (a judgement, the overrule, a
message) stops that student's grading loudly, names the student, the test and the exception, records nothing
for that student (the rows of an earlier run stay as they were), and charges no one."""
import dataclasses
import re

import pytest

from conftest import make_course, nbgrader
from course import ASSIGNMENT, gradebook_rows
from grading import lab2_grader, lab2_probe, parts
from tools import autograde_parallel, submissions


def test_an_exception_in_a_judge_is_a_grader_bug_not_a_verdict(monkeypatch):
    """In this process: judge() raises GraderBug, where a failed check or bad data from the kernel gives a Verdict."""
    part, test = parts.test("l2_value")

    def broken(*args):
        return {}["no such key"]  # a KeyError in the grader's own code
    monkeypatch.setitem(parts.TESTS, "l2_value", (part, dataclasses.replace(test, judge=broken)))
    plan = lab2_grader.plan("l2_value", 1, token="t")
    message = lab2_probe.encode(*lab2_probe.collect(plan, (lambda w: (w ** 2).sum() / 2,)))
    with pytest.raises(lab2_grader.GraderBug, match=r"l2_value: KeyError"):
        lab2_grader.judge("l2_value", plan, message)
    text, packed = message
    broken_data = (text.replace('"calls"', '"callz"'), packed)  # what only a tampered kernel can send: the test fails
    assert lab2_grader.judge("l2_value", plan, broken_data).mistake == "probe_data_invalid"


BUG = ("        if not rel <= 1e-5:\n", "        if not rel <= 1e-5:\n            1 / 0  # a bug injected into the grader\n")


@pytest.mark.slow  # three autograde runs of the sample class with the real nbgrader
def test_a_bug_injected_into_one_judge_charges_no_one(tmp_path, mnist_dir):
    course = make_course(tmp_path, mnist_dir)
    submissions.write_samples(course)
    nbgrader(course, "autograde", ASSIGNMENT)
    before = gradebook_rows(course)
    judge = course / "grading" / "parts" / "l2.py"  # the course's own grading/ (nbgrader imports it from here)
    text = judge.read_text(encoding="utf-8")
    assert text.count(BUG[0]) == 1
    judge.write_text(text.replace(*BUG), encoding="utf-8")

    result = nbgrader(course, "autograde", ASSIGNMENT, "--force", check=False)
    log = result.stdout + result.stderr
    assert result.returncode != 0, "nbgrader autograde exited 0 over a grader bug"
    assert re.search(r"GRADER BUG.*'sample_mistakes'.*l2_value.*ZeroDivisionError", log), log[-3000:]
    assert gradebook_rows(course) == before, "a grader bug changed the gradebook"
    for student in ("sample_complete", "sample_partial", "sample_untouched"):  # not hit by the bug: graded as before
        assert f"for student '{student}'" not in log

    failures = autograde_parallel.autograde_parallel(course, workers=2, quiet=True)
    assert set(failures) == {"sample_mistakes"}, failures  # listed as not graded, the others graded
    assert gradebook_rows(course) == before
