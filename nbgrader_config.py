"""nbgrader configuration of the lab2_regularization course (run nbgrader from this folder)."""
import os
import sys

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
GRADING_DIR = os.path.join(COURSE_ROOT, "grading")

# Kernels started by nbgrader (validate, autograde) inherit this environment: IPython runs
# grading/ipython/profile_default/startup/ before any notebook cell and loads the hidden tests' probe
# (grading/lab2_probe.py), which only collects data. The points are decided in this process, outside the
# kernel (grading/safe_execute.py with grading/lab2_grader.py and grading/source_rules.py).
os.environ["IPYTHONDIR"] = os.path.join(GRADING_DIR, "ipython")
os.environ["LAB2_PROBE"] = os.path.join(GRADING_DIR, "lab2_probe.py")
sys.path.insert(0, GRADING_DIR)

from feedback import HideHiddenTests  # noqa: E402  (grading/feedback.py)
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades, IgnorePattern,  # noqa: E402
                                    LimitOutput, SaveAutoGrades)
from safe_execute import SafeExecute  # noqa: E402  (grading/safe_execute.py)

c = get_config()  # noqa: F821

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "dl-lab2-regularization"

# What students see in place of the solutions (release/).
c.ClearSolutions.code_stub = {"python": "# 在这里写你的代码\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "请在这里写下你的回答。"

# Grading runs the experiments at the small scale (NBGRADER_EXECUTION is set): the slowest cell
# takes a few seconds, so a minute means something is wrong (an endless loop), not a slow machine.
c.Execute.timeout = int(os.environ.get("LAB2_CELL_TIMEOUT", "120"))
# After a cell's reply, wait this long for its last outputs: on a loaded machine the default 4 s
# is too short, and the cell would be counted as a fault.
c.Execute.iopub_timeout = 30
# nbclient skips cells tagged 'skip-execution'; a student must not be able to skip a test that way.
c.Execute.skip_cells_with_tag = "lab2-grading-never-skips-a-cell"

# Feedback: grades, no hidden test code, no traceback lines that would quote it.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# The trust boundary: every test cell's points are decided outside the kernel, on data from it and on the
# submitted source (grading/safe_execute.py). A kernel that dies or hangs costs only the cells from the fault
# on, and flags the notebook for review; plain nbgrader records nothing for that student.
c.Autograde.autograde_preprocessors = [SafeExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Autograde runs each student's kernel in a bubblewrap sandbox (grading/jupyter/kernels/lab2-sandbox/):
# it sees only its own working copy, the data and the software, has no network, and runs under
# limits. Without bwrap, autograde refuses unless the TA opts out with LAB2_SANDBOX=off.
if "autograde" in sys.argv[1:3] and os.environ.get("LAB2_SANDBOX", "on") != "off":
    import atexit
    import shutil
    import tempfile

    if shutil.which("bwrap") is None:
        sys.exit("自动评分拒绝运行:找不到沙箱工具 bubblewrap(bwrap)。学生代码会以你的权限运行,能读写成绩库和其他学生的作业。\n"
                 "请安装它(Debian/Ubuntu: sudo apt-get install bubblewrap)后重试;如果确实要在没有沙箱的情况下评分,"
                 "请显式设置 LAB2_SANDBOX=off。\n"
                 "Autograde refused: bubblewrap (bwrap) is not installed, and student code would run with your "
                 "rights. Install it (apt-get install bubblewrap), or set LAB2_SANDBOX=off to grade without a sandbox.")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [os.path.join(GRADING_DIR, "jupyter"),
                                                               os.environ.get("JUPYTER_PATH")]))
    os.environ["LAB2_COURSE_ROOT"] = COURSE_ROOT
    _ipc = tempfile.mkdtemp(prefix="lab2-kernels-")  # this nbgrader run's kernels, nobody else's
    atexit.register(shutil.rmtree, _ipc, True)
    c.Execute.kernel_name = "lab2-sandbox"
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = os.path.join(_ipc, "kernel")
