"""The class from the LMS: `nbgrader zip_collect lab2_regularization` (the real CLI, the course's own config and
collector, grading/lms.py) fills submitted/ from the download in downloaded/lab2_regularization/archive/, for a
Canvas-style archive and for a plain zip of <student id>.ipynb, both built here. Each student's latest notebook is
collected (a resubmission the LMS renamed -1, -2 is the latest); every other file is listed with its reason, on
the console and in downloaded/lab2_regularization/collect_report.md. No grading: the fast tier runs these."""
import shutil
import zipfile

import nbformat
import pytest

from conftest import RELEASE_NB, SOURCE_NB, nbgrader
from tools import submissions
from course import ASSIGNMENT, submitted_nb


@pytest.fixture(scope="module")
def notebooks():
    """The sample submissions as notebook text (the release with answers filled in)."""
    source, release = nbformat.read(str(SOURCE_NB), 4), nbformat.read(str(RELEASE_NB), 4)
    return {name: nbformat.writes(submissions.fill(release, answers))
            for name, (answers, _, _) in submissions.samples(source).items()}


@pytest.fixture
def lms_course(base_course, tmp_path):
    folder = tmp_path / "course"
    shutil.copytree(base_course, folder, symlinks=True)
    (folder / "downloaded" / ASSIGNMENT / "archive").mkdir(parents=True)
    return folder


def archive(course, name, files):
    with zipfile.ZipFile(course / "downloaded" / ASSIGNMENT / "archive" / name, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)


def collect(course):
    result = nbgrader(course, "zip_collect", ASSIGNMENT)
    report = (course / "downloaded" / ASSIGNMENT / "collect_report.md").read_text(encoding="utf-8")
    return result.stdout + result.stderr, report


def collected(course):
    return {p.name: (p / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
            for p in sorted((course / "submitted").iterdir())}


def line_of(report, filename):
    lines = [l for l in report.splitlines() if f"`{filename}`" in l or f"/{filename}`" in l]
    assert len(lines) == 1, (filename, report)
    return lines[0]


def test_canvas_archive(lms_course, notebooks):
    nb = notebooks
    archive(lms_course, "submissions.zip", {
        f"zhangsan_2021001_50001_{ASSIGNMENT}.ipynb": nb["sample_untouched"],
        f"zhangsan_2021001_50001_{ASSIGNMENT}-1.ipynb": nb["sample_complete"],  # handed in again: the latest
        f"lisi_2021002_50002_{ASSIGNMENT}.ipynb": nb["sample_partial"],
        f"wang_wu_LATE_2021003_50003_{ASSIGNMENT}.ipynb": nb["sample_mistakes"],  # a late one, a name with _
        f"zhaoliu_2021004_50004_{ASSIGNMENT}.pdf": "%PDF-1.4 not a notebook",
        f"sunqi_2021005_50005_{ASSIGNMENT}.ipynb": "{ this is not JSON",
        f"zhouba_2021006_50006_{ASSIGNMENT}.ipynb": nb["sample_partial"],  # one id, two files, neither marked later
        f"zhoujiu_2021006_50007_{ASSIGNMENT}.ipynb": nb["sample_complete"],
        "notes for the TA.txt": "hello",
        f"{ASSIGNMENT}.ipynb": nb["sample_complete"],  # no student id in the name
    })
    log, report = collect(lms_course)
    assert collected(lms_course) == {"2021001": nb["sample_complete"], "2021002": nb["sample_partial"],
                                     "2021003": nb["sample_mistakes"]}
    assert "collected (resubmission -1, the latest)" in line_of(report, f"zhangsan_2021001_50001_{ASSIGNMENT}-1.ipynb")
    assert f"an earlier submission (the latest is zhangsan_2021001_50001_{ASSIGNMENT}-1.ipynb)" in \
        line_of(report, f"zhangsan_2021001_50001_{ASSIGNMENT}.ipynb")
    assert "| 2021004 | not collected: not a notebook (.pdf)" in line_of(report, f"zhaoliu_2021004_50004_{ASSIGNMENT}.pdf")
    assert "not a notebook (it does not parse" in line_of(report, f"sunqi_2021005_50005_{ASSIGNMENT}.ipynb")
    for name in (f"zhouba_2021006_50006_{ASSIGNMENT}.ipynb", f"zhoujiu_2021006_50007_{ASSIGNMENT}.ipynb"):
        assert "student id 2021006 is also claimed by" in line_of(report, name)
        assert f"submitted/2021006/{ASSIGNMENT}/{ASSIGNMENT}.ipynb by hand" in line_of(report, name)
    assert "not a notebook (.txt)" in line_of(report, "notes for the TA.txt")
    assert "the name cannot be read" in line_of(report, f"{ASSIGNMENT}.ipynb")
    assert "3 notebooks collected, 7 files not collected" in report
    not_collected = [l for l in log.splitlines() if "NOT COLLECTED" in l]
    assert len(not_collected) == 7, log  # every file left out is on the TA's console too, with its reason
    assert any("2021006" in l and "also claimed" in l for l in not_collected), not_collected


def test_plain_zip_of_student_ids(lms_course, notebooks):
    nb = notebooks
    archive(lms_course, "class.zip", {
        "2021001.ipynb": nb["sample_untouched"],
        "2021001-1.ipynb": nb["sample_partial"],
        "2021001-2.ipynb": nb["sample_complete"],  # the latest of three
        "2021002.ipynb": nb["sample_partial"],
        "2021003-1.ipynb": nb["sample_mistakes"],  # only the resubmission came through
        "group b/2021004.ipynb": nb["sample_untouched"],  # a folder inside the zip
        "2021005.docx": "PK not a notebook",
        "2021001 (copy).ipynb": nb["sample_untouched"],
        "__MACOSX/._2021002.ipynb": "\x00\x05\x16\x07",
        "2021006.ipynb": nb["sample_partial"],
    })
    archive(lms_course, "late.zip", {"2021006.ipynb": nb["sample_complete"]})  # the same id in a second download
    log, report = collect(lms_course)
    assert collected(lms_course) == {"2021001": nb["sample_complete"], "2021002": nb["sample_partial"],
                                     "2021003": nb["sample_mistakes"], "2021004": nb["sample_untouched"]}
    assert "an earlier submission (the latest is 2021001-2.ipynb)" in line_of(report, "2021001-1.ipynb")
    assert "an earlier submission" in line_of(report, "class/2021001.ipynb")
    assert "not a notebook (.docx)" in line_of(report, "2021005.docx")
    assert "the name cannot be read" in line_of(report, "2021001 (copy).ipynb")
    assert "the name cannot be read" in line_of(report, "._2021002.ipynb")
    assert "student id 2021006 is also claimed by" in line_of(report, "class/2021006.ipynb")
    assert "student id 2021006 is also claimed by" in line_of(report, "late/2021006.ipynb")
    assert "4 notebooks collected, 7 files not collected" in report
    assert not submitted_nb(lms_course, "2021006").exists()
    assert len([l for l in log.splitlines() if "NOT COLLECTED" in l]) == 7, log
