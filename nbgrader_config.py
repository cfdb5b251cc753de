"""nbgrader configuration of the lab2_regularization course (run nbgrader from this folder)."""
import os
import sys

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
GRADING_DIR = os.path.join(COURSE_ROOT, "grading")

# Kernels started by nbgrader (validate, autograde) inherit this environment: IPython runs
# grading/ipython/profile_default/startup/ before any notebook cell, so the hidden tests' checks
# (grading/lab2_grader.py) hold references to torch and builtins taken before student code runs.
os.environ["IPYTHONDIR"] = os.path.join(GRADING_DIR, "ipython")
os.environ["LAB2_GRADER"] = os.path.join(GRADING_DIR, "lab2_grader.py")
sys.path.insert(0, GRADING_DIR)

from feedback import HideHiddenTests  # noqa: E402  (grading/feedback.py)
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

c = get_config()  # noqa: F821

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "dl-lab2-regularization"

# What students see in place of the solutions (release/).
c.ClearSolutions.code_stub = {"python": "# 在这里写你的代码\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "请在这里写下你的回答。"

# Grading runs the experiments at the small scale (NBGRADER_EXECUTION is set): the slowest cell
# takes a few seconds, so a minute means something is wrong (an endless loop), not a slow machine.
c.Execute.timeout = 120
# nbclient skips cells tagged 'skip-execution'; a student must not be able to skip a test that way.
c.Execute.skip_cells_with_tag = "lab2-grading-never-skips-a-cell"

# Feedback: grades, no hidden test code, no traceback lines that would quote it.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
