"""What a class hands in (grading/notebook_repair.py), graded as a TA grades it: the sample class with the files of
tests/handed_in.py (the complete solution saved the ways files arrive, and uploads that are no notebook), graded once
by tools/autograde_parallel.py (conftest: parallel_class), then nbgrader's own autograde and feedback. Every file
Jupyter opens keeps every point, its autograded copy repaired; every other file is NOT GRADED with its reason in the
command's list, the class status, the class report and the integrity report; the others are graded regardless; no
submitted file is written."""
import codecs

import nbformat
import pytest

import handed_in
from conftest import nbgrader
from course import ASSIGNMENT, autograded_nb, cell_scores, feedback_html, read, submitted_nb
from grading import parts
from tools import class_report, class_status, integrity_report

pytestmark = pytest.mark.slow  # grades a class (shared with tests/test_autograde.py's parallel test)


def test_every_file_jupyter_opens_keeps_every_point_and_is_graded_repaired(parallel_class):
    folder, files, failures = parallel_class
    opened = handed_in.opened()
    assert set(failures) == set(handed_in.not_notebooks()), failures  # everyone else is graded
    scores = {s: sum(cell_scores(folder, s).values()) for s in opened}
    for student in [*opened, *handed_in.not_notebooks()]:  # what the TA saw, for the record (-s)
        print(f"\n{student}: " + (f"graded {scores[student]:g}" if student in scores else failures[student]), end="")
    assert scores == {s: sum(parts.AUTOGRADED.values()) for s in opened}, scores
    for student in opened:
        data = autograded_nb(folder, student).read_bytes()
        assert not data.startswith(codecs.BOM_UTF8)
        graded = nbformat.reads(data.decode(), as_version=4)
        nbformat.validate(graded)
        assert len({c.id for c in graded.cells}) == len(graded.cells)
    assert read(autograded_nb(folder, "tag_with_comma")).cells[3].metadata["tags"] == ["待改", "再看"]
    for student, data in files.items():
        assert submitted_nb(folder, student).read_bytes() == data, f"{student}'s submitted file was written"


def test_every_other_file_is_not_graded_with_its_reason_wherever_the_ta_looks(parallel_class):
    folder, _, failures = parallel_class
    status = class_status.as_text(class_status.status(folder), folder)  # what `python tools/class_status.py` prints
    _, _, missing = class_report.write(folder)
    page = (folder / "class_report.html").read_text(encoding="utf-8")
    integrity = integrity_report.report(folder)
    for student, (_, reason) in handed_in.not_notebooks().items():
        line = f"not a notebook: {reason}"
        assert line in failures[student], failures[student]                  # autograde_parallel's NOT GRADED list
        assert f"  {student} (shard 0): {line}\n" in status, status           # the class status
        assert missing[student] == line and f"<td>{student}</td><td>{line}</td>" in page  # the class report
        assert any(reason in evidence for _, evidence in integrity[student]), integrity[student]
    assert f"NOT GRADED ({len(handed_in.not_notebooks())})" in page and set(missing) == set(handed_in.not_notebooks())


def test_nbgrader_autograde_and_feedback_read_the_class_the_same_way(parallel_class):
    folder, files, _ = parallel_class
    result = nbgrader(folder, "autograde", ASSIGNMENT, "--student", "empty_file", "--force", check=False)
    assert result.returncode != 0 and "not a notebook: the file is empty" in result.stdout + result.stderr
    nbgrader(folder, "generate_feedback", ASSIGNMENT, "--student", "saved_with_bom", "--force")
    assert "MyReLU" in feedback_html(folder, "saved_with_bom").read_text(encoding="utf-8")
    assert submitted_nb(folder, "saved_with_bom").read_bytes() == files["saved_with_bom"]
