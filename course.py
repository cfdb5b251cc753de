"""The course's names and conventions, in one place: everything else imports them from here.

- what the assignment is called and where its notebooks are (the master, the release, a student's);
- nbgrader's cell metadata, and the gradebook (which part a grade id belongs to is the declarations' to say:
  grading/parts/, part_name);
- the master's cells, picked by their tags, with the solutions in or out (one way to run the master);
- a fresh course copy, the release generated in it;
- every environment variable the course reads and every limit, with its default (README, "Settings");
- where the student's notebook runs (SUPPORTED).
"""
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent  # this checkout: its master, its code; a tool works on --course or the current folder


def script_checkout():
    """The checkout of the script this Python runs (its tools/, benchmarks/ or tests/: a folder with course.py and
    pyproject.toml two levels up), or None (nbgrader, pytest, a kernel, python -c)."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    folder = Path(path).resolve().parent.parent if path else None
    return folder if folder and (folder / "course.py").is_file() and (folder / "pyproject.toml").is_file() else None


if script_checkout() not in (None, ROOT):  # a venv that serves two checkouts, installed from the other one
    sys.exit(f"{sys.modules['__main__'].__file__} belongs to the checkout {script_checkout()}, but this Python imports "
             f"the course's code from {ROOT} (the checkout this venv was installed from): run it with its own "
             f"checkout's venv (cd {script_checkout()} && source tools/env.sh)")
ASSIGNMENT = "lab2_regularization"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
COURSE_ID = "dl-lab2-regularization"
# where a student may run the notebook: name -> (oldest, newest) release. Stated in README's Students section and the
# notebook's opening cell, checked by its first code cell (its SUPPORTED), tried by tools/student_envs.py's matrix;
# tests/test_student_env.py holds them to this. The grader runs requirements.txt's own versions.
SUPPORTED = {"Python": ("3.10", "3.13"), "torch": ("2.1", "2.14"), "numpy": ("1.26", "2.x")}


# ---------------------------------------------------------------- settings: environment variables and limits
# The grading limits are nbgrader settings with their defaults: the traits of grading/safe_execute.py's SafeExecute.
def sandbox_on():
    return os.environ.get("LAB2_SANDBOX", "on") != "off"


SANDBOX_MISSING = (
    "自动评分拒绝运行:找不到沙箱工具 bubblewrap(bwrap)。学生代码会以你的权限运行,能读写成绩库和其他学生的作业。\n"
    "请安装它(Debian/Ubuntu: sudo apt-get install bubblewrap)后重试;如果确实要在没有沙箱的情况下评分,"
    "请显式设置 LAB2_SANDBOX=off。\n"
    "Autograde refused: bubblewrap (bwrap) is not installed, and student code would run with your "
    "rights. Install it (apt-get install bubblewrap), or set LAB2_SANDBOX=off to grade without a sandbox.")


# ---------------------------------------------------------------- the notebooks
def source_nb(course=ROOT):
    return Path(course) / "source" / ASSIGNMENT / NOTEBOOK


def release_nb(course=ROOT):
    return Path(course) / "release" / ASSIGNMENT / NOTEBOOK


def submitted_nb(course, student):
    return Path(course) / "submitted" / student / ASSIGNMENT / NOTEBOOK


def autograded_nb(course, student):
    return Path(course) / "autograded" / student / ASSIGNMENT / NOTEBOOK


def feedback_html(course, student):
    return Path(course) / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"


class _Node(dict):
    """A notebook read as plain JSON, with nbformat's attribute access (where nbformat is not installed)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def read(path):
    """A notebook (nbformat's NotebookNode; plain JSON with the same access where nbformat is missing)."""
    try:
        import nbformat
    except ImportError:
        import json
        hook = lambda d: _Node(d, source="".join(d["source"])) if "cell_type" in d else _Node(d)
        return json.loads(Path(path).read_text(encoding="utf-8"), object_hook=hook)
    return nbformat.read(str(path), as_version=4)


# ---------------------------------------------------------------- nbgrader's cell metadata
def meta(cell):
    """A cell's nbgrader metadata ({} for a plain cell)."""
    return cell.metadata.get("nbgrader", {})


def is_test(cell):
    """An autograded test cell: visible tests, then the hidden test's probe line."""
    m = meta(cell)
    return cell.cell_type == "code" and bool(m.get("grade")) and not m.get("solution")


def autograded_points(nb):
    """grade_id -> points of every autograded test cell."""
    return {meta(c)["grade_id"]: float(meta(c)["points"]) for c in nb.cells if is_test(c)}


# ---------------------------------------------------------------- the gradebook: SQLite, or PostgreSQL with LAB2_DB_URL
# nbgrader (nbgrader_config.py: CourseDirectory.db_url) and every tool open the gradebook at db_url(): the course's
# own SQLite gradebook.db by default (embedded, one writer at a time), or the SQLAlchemy URL in $LAB2_DB_URL, a
# PostgreSQL database that several TAs and several grading machines use at once, e.g.
#   postgresql+psycopg://ta@/lab2?host=/run/postgresql       (psycopg from PyPI, Debian's postgresql server)
DB_URL_VARIABLE = "LAB2_DB_URL"


def db_url(course=ROOT):
    """The gradebook's SQLAlchemy URL: $LAB2_DB_URL, else sqlite:///<course>/gradebook.db."""
    return os.environ.get(DB_URL_VARIABLE) or f"sqlite:///{os.path.abspath(Path(course) / 'gradebook.db')}"


def is_sqlite(url):
    return url.startswith("sqlite")


def shown_url(url):
    """The URL as it may be printed: the password, if any, hidden."""
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def gradebook(course=ROOT):
    """nbgrader's Gradebook at db_url(course); a database that cannot be reached stops with a message naming it."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import OperationalError
    url = db_url(course)
    try:
        gb = Gradebook(url)
    except OperationalError as err:
        raise SystemExit(f"cannot open the gradebook {shown_url(url)} ({DB_URL_VARIABLE} selects it): "
                         f"{str(err.orig).strip()}") from None
    with gb:
        yield gb


def gradebook_rows(course=ROOT):
    """(student, cell, auto_score, manual_score, needs_manual_grade, max_score) for every grade, sorted."""
    with gradebook(course) as gb:
        return sorted((s.student_id, g.name, g.auto_score, g.manual_score, g.needs_manual_grade, g.max_score)
                      for s in gb.assignment_submissions(ASSIGNMENT) for nb in s.notebooks for g in nb.grades)


def cell_scores(course, student):
    """grade_id -> score of one student's autograded test cells, from the gradebook."""
    with gradebook(course) as gb:
        grades = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).grades
        return {g.name: g.score for g in grades if g.cell_type == "code"}  # the test cells (answers are markdown)


# ---------------------------------------------------------------- the master's cells
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"  # nbgrader's markers
HIDDEN = re.compile(rf"^[ \t]*{BEGIN_HIDDEN}[ \t]*\n(.*?)^[ \t]*{END_HIDDEN}[ \t]*(?:\n|\Z)", re.S | re.M)  # the region
MARKER_LINE = re.compile(rf"^\s*(### (BEGIN|END) SOLUTION|{BEGIN_HIDDEN}|{END_HIDDEN})\s*$")


def strip_markers(source):
    """A master cell's source with nbgrader's region markers taken out (the solution stays in)."""
    return "\n".join(line for line in source.splitlines() if not MARKER_LINE.match(line))


# The master tags its code cells (tests/test_metadata.py checks it): every experiment cell carries
# EXPERIMENT (autograde keeps the student's own run of it), and a cell that runs an experiment also carries
# RUN and the experiment's own tag; a cell that only defines carries the experiment's tag without RUN.
EXPERIMENT, RUN = "lab2-experiment", "lab2-run"
EXPERIMENTS = ("activations", "gradient_vanishing", "relu_death", "l2", "dropout")


def tags(cell):
    return set(cell.metadata.get("tags", []))


def experiment_of(cell):
    names = {t[len("lab2-"):] for t in tags(cell)} & set(EXPERIMENTS)
    return names.pop() if names else None


def master_cells(tests=False, runs=EXPERIMENTS, nb=None):
    """The master's code cells, solutions in and markers out, in order: the setup, the definitions, the
    answers; the test cells when `tests`; of the cells that run an experiment, those of the experiments in
    `runs`. Picked by tag, never by their text."""
    nb = nb or read(source_nb())
    picked = []
    for cell in nb.cells:
        if cell.cell_type != "code" or (is_test(cell) and not tests):
            continue
        if RUN in tags(cell) and experiment_of(cell) not in runs:
            continue
        picked.append(cell)
    return picked


# ---------------------------------------------------------------- a course copy
def generate_release(course):
    """nbgrader generate_assignment in `course`, then the root copy of the release; return the release."""
    subprocess.run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN"], cwd=course,
                   check=True)
    shutil.copyfile(release_nb(course), Path(course) / NOTEBOOK)
    return release_nb(course)


def copy_course(dest, data=None, src=ROOT):
    """A fresh course in `dest` (an empty folder) made from the course `src` (this checkout by default): the config,
    course.py, grading/ and source/ (and a data folder), the release generated."""
    dest, src = Path(dest), Path(src)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("nbgrader_config.py", "course.py", "grading", "source"):
        item = src / name
        (shutil.copytree if item.is_dir() else shutil.copyfile)(item, dest / name)
    if data is not None:
        shutil.copytree(data, dest / "data")
    generate_release(dest)
    return dest
