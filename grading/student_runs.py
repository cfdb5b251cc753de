"""The experiments in a submission are the student's own run: autograde does not run them again.

The master tags every experiment cell (a code cell that earns no points and that no test needs) with
course.EXPERIMENT. Autograde keeps what the student's own run printed and drew in those cells (KeepStudentRuns
replaces nbgrader's ClearOutput), does not execute them (grading/safe_execute.py), and marks them so that the
autograded notebook, the Formgrader and the feedback say whose run it is. The tests, the answer cells and any
cell the student added run fresh, so nothing written in an experiment cell can change a grade.

Outputs that came from the student (kept runs, and whatever the sandboxed kernel printed) are reduced to
text and images: HTML or JavaScript from a submission would otherwise run in the TA's browser when the
Formgrader shows the notebook.
"""
import base64
import binascii

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearOutput

from course import EXPERIMENT

SAFE_MIMES = ("text/plain", "image/png", "image/jpeg")
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
MARK_KEPT = "〔学生自己运行的结果:评分时没有重新运行这个实验单元,它不计分〕\n"
MARK_EMPTY = "〔学生提交的笔记本里这个实验单元没有输出(提交前没有运行);评分时不运行实验单元〕\n"


def is_experiment(cell):
    """An experiment cell: a code cell outside nbgrader's cells (never a test, an answer or a locked cell),
    tagged by the master. A student who removes the tag makes it ordinary code that runs under every rule;
    one who adds it to a cell of their own only keeps that cell from running."""
    return (cell.cell_type == "code" and EXPERIMENT in cell.metadata.get("tags", [])
            and not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)))


def _image_ok(mime, value):
    try:
        return isinstance(value, str) and base64.b64decode(value, validate=False)[:8].startswith(IMAGE_MAGIC[mime])
    except (binascii.Error, ValueError):
        return False


def safe_outputs(outputs):
    """Streams, errors, and displays reduced to plain text and real images; nothing that runs in a browser."""
    kept = []
    for output in outputs:
        kind = output.get("output_type")
        if kind in ("stream", "error"):
            kept.append(output)
        elif kind in ("display_data", "execute_result"):
            data = {m: v for m, v in output.get("data", {}).items()
                    if m == "text/plain" or (m in IMAGE_MAGIC and _image_ok(m, v))}
            if data:
                output["data"] = data
                output["metadata"] = {m: v for m, v in output.get("metadata", {}).items() if m in data}
                kept.append(output)
    return kept


def mark_student_run(cell):
    """Put the mark at the top of a kept experiment cell's outputs."""
    text = MARK_KEPT if cell.get("outputs") else MARK_EMPTY
    cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=text)] + list(cell.get("outputs", []))
    cell.metadata["lab2"] = {"student_run": True}


class KeepStudentRuns(ClearOutput):
    """nbgrader's first autograde step, except that experiment cells keep the student's outputs (made safe)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if is_experiment(cell):
            cell.outputs = safe_outputs(list(cell.get("outputs", [])))
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)
