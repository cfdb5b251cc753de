"""nbgrader configuration of the lab2_regularization course (run nbgrader from this folder).

The grading code is the package `grading` of this folder (pyproject.toml; tools/env.sh installs it), the
course's names and settings are in course.py.
"""
import os

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
GRADING_DIR = os.path.join(COURSE_ROOT, "grading")

# Kernels started by nbgrader (validate, autograde) inherit this environment: IPython runs
# grading/ipython/profile_default/startup/ before any notebook cell and loads the hidden tests' probe
# (grading/lab2_probe.py), which only collects data. The points are decided in this process, outside the
# kernel (grading/safe_execute.py with grading/lab2_grader.py and grading/source_rules.py).
os.environ["IPYTHONDIR"] = os.path.join(GRADING_DIR, "ipython")
os.environ["LAB2_PROBE"] = os.path.join(GRADING_DIR, "lab2_probe.py")

import nbgrader  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearMarkScheme  # noqa: E402

from grading.feedback import FeedbackExporter, FeedbackSummary, GetGradesAndStatus, HideHiddenTests  # noqa: E402
from grading import pipeline  # noqa: E402
from grading.kernels import refuse_without_sandbox  # noqa: E402
# the grader's own modules load here, once, before any submission (not while the first one is graded)
from grading.safe_execute import SafeExecute  # noqa: E402,F401
import course  # noqa: E402

c = get_config()  # noqa: F821

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = course.COURSE_ID

# What students see in place of the solutions (release/).
c.ClearSolutions.code_stub = {"python": "# 在这里写你的代码\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "请在这里写下你的回答。"

# The limits of a grading run (the cell and notebook timeouts, the disk budget, the sandbox and its resource
# limits) are settings of SafeExecute with their own help text and defaults (grading/safe_execute.py; README,
# "Settings"): set them here as c.SafeExecute.<name>, or with the LAB2_* environment variables.
# nbgrader validate runs the master's cells (experiments at the small scale) with nbgrader's own Execute.
c.Execute.timeout = 120
# IPython's input history in memory: the sandbox's home is read-only, and a history database there only
# prints a warning into the first cell of every graded notebook.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
# After a cell's reply, wait this long for its last outputs: on a loaded machine the default 4 s
# is too short, and the cell would be counted as a fault.
c.Execute.iopub_timeout = 30
# nbclient skips cells tagged 'skip-execution'; a student must not be able to skip a test that way.
c.Execute.skip_cells_with_tag = "lab2-grading-never-skips-a-cell"

# Feedback: grades, no hidden test code, no traceback lines that would quote it, no rubric (mark scheme); the page
# opens with a summary per part (grading/feedback.py). Its template extends nbgrader's own feedback template; it is
# set on an exporter class of its own: the Formgrader's grading pages keep theirs, and its "generate feedback"
# button (which sets HTMLExporter.template_name) makes the same page as the command line.
c.GenerateFeedback.preprocessors = [GetGradesAndStatus, HideHiddenTests, ClearMarkScheme, FeedbackSummary,
                                    CSSHTMLHeaderPreprocessor]
c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.template_name = "lab2_feedback"  # grading/templates/lab2_feedback/: extends nbgrader's "feedback"
c.FeedbackExporter.template_file = "lab2_feedback.html.j2"
c.FeedbackExporter.extra_template_basedirs = [os.path.join(GRADING_DIR, "templates"),
                                              os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions",
                                                           "formgrader", "templates")]

# Every page nbconvert makes from a submission (the Formgrader's grading page, the feedback: FeedbackExporter is an
# HTMLExporter) shows what the student wrote through an allowlist sanitizer (nh3; grading/sanitize.py): markdown,
# raw cells, outputs, attachments, metadata. sanitize_html makes nbconvert's templates clean raw cells and outputs
# and leave out JavaScript and widgets. The feedback page also carries a Content-Security-Policy (grading/csp.py).
from grading.sanitize import SanitizeSubmission, clean_html, markdown2html  # noqa: E402

c.HTMLExporter.preprocessors = [SanitizeSubmission]
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"markdown2html": markdown2html, "clean_html": clean_html}

# Autograde's first step keeps the student's own outputs of the experiment cells (and only those).
c.Autograde.sanitize_preprocessors = list(pipeline.SANITIZE)
# The trust boundary: every test cell's points are decided outside the kernel, on data from it and on the
# submitted source (grading/safe_execute.py). A kernel that dies or hangs costs only the cells from the fault
# on, and flags the notebook for review; plain nbgrader records nothing for that student.
c.Autograde.autograde_preprocessors = list(pipeline.AUTOGRADE)  # the chains: grading/pipeline.py
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# What a class hands in is read as Jupyter opens it (grading/notebook_repair.py): a BOM, a tag with a comma, duplicate
# or missing cell ids are repaired in what autograde grades and writes to autograded/ (the submitted file is never
# written); a file that is no notebook stops that student only, logged as "not a notebook: <the reason>".
from grading.notebook_repair import SubmittedNotebookExporter  # noqa: E402

c.Autograde.exporter_class = SubmittedNotebookExporter

# Autograde runs each student's kernel in a bubblewrap sandbox (grading/jupyter/kernels/lab2-sandbox/): it sees
# the software read-only and a private tmpfs (the disk budget), has no network, and runs under limits. Wherever
# autograde starts (the command line, tools/autograde_parallel.py, the Formgrader), it is SafeExecute that starts
# the kernel. Without bwrap, autograde refuses before it touches a submission or the gradebook (nbgrader calls this
# hook first, wherever it autogrades); LAB2_SANDBOX=off grades without the sandbox, knowingly.
c.Autograde.pre_convert_hook = refuse_without_sandbox

# ---------------------------------------------------------------- the gradebook; the class from the LMS (issue 16)
# The gradebook: the course's own SQLite gradebook.db (embedded; one writer at a time), or, when $LAB2_DB_URL is
# set, that PostgreSQL database (several TAs, several grading machines), e.g.
# postgresql+psycopg://ta@/lab2?host=/run/postgresql (course.py: db_url; README, "TAs").
c.CourseDirectory.db_url = course.db_url(COURSE_ROOT)
# `nbgrader zip_collect lab2_regularization` reads the LMS download in downloaded/lab2_regularization/archive/ into
# submitted/ (grading/lms.py). The names it reads, matched against a file's base name: Canvas-style
# <name>_[LATE_]<student id>_<submission id>_lab2_regularization.ipynb, or <student id>.ipynb from a plain zip;
# `-1`, `-2` before .ipynb is a resubmission the LMS renamed (the highest is the latest). Every file it does not
# collect is listed with the reason (console, downloaded/lab2_regularization/collect_report.md).
from grading.lms import LmsCollector  # noqa: E402
from grading.zip_budget import BudgetedExtractor  # noqa: E402

c.ZipCollectApp.collector_plugin = LmsCollector
# The download is unpacked within budgets (bytes per file and in all, files, nesting depth: c.BudgetedExtractor.<name>);
# paths outside the folder, absolute paths, links in a tar, names that are not UTF-8 are skipped; each is listed.
c.ZipCollectApp.extractor_plugin = BudgetedExtractor
c.FileNameCollectorPlugin.named_regexp = (
    r"^(?:(?P<name>.+?)_(?:(?i:late)_)?)?"                         # Canvas: the student's name (late_ if late)
    r"(?P<student_id>[A-Za-z0-9]+)"                                 # the student id
    rf"(?(name)_(?P<submission_id>\d+)_{course.ASSIGNMENT})"        # Canvas: the LMS's submission id, the notebook
    r"(?:-(?P<resubmission>\d+))?\.ipynb$")                         # -1, -2: a resubmission the LMS renamed
