"""The feedback page (nbgrader generate_feedback, configured in nbgrader_config.py).

- HideHiddenTests: students get the grade and the failing check's message, never the hidden tests' code
  (nbgrader keeps it in the autograded notebook and in tracebacks).
- GetGradesAndStatus, FeedbackSummary, FeedbackExporter: the page opens with a summary, one row per part (its
  points; for a part that lost points, what went wrong in one line, linked to the cell; a 思考题's TA comment),
  then an index of the graded cells named by what they check (NAMES), then the notebook; the template is
  grading/templates/lab2_feedback/, which extends nbgrader's own feedback template.
"""
import re

from nbconvert.exporters import HTMLExporter
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from traitlets import Unicode

import course
from grading import csp, parts
from grading.rules.scanner import GRADER_MODULES
from grading.rubrics import is_rubric

REDACTED = "[隐藏测试的内容已移除]"
MARKERS = re.compile(rf"{course.BEGIN_HIDDEN}|{course.END_HIDDEN}|({'|'.join(GRADER_MODULES)})\.\w+\([^\n]*?\)"
                     rf"|import ({'|'.join(GRADER_MODULES)})")


class HideHiddenTests(ClearHiddenTests):
    """Remove the hidden-test region of every test cell, shorten the error outputs of test cells to
    the exception's name and message (a traceback quotes the lines that raised), and redact any
    hidden-test line that a submission printed (say, from the kernel's input history)."""

    def preprocess(self, nb, resources):
        self._hidden_lines = sorted({line.strip() for cell in nb.cells for block in course.HIDDEN.findall(cell.source)
                                     for line in block.splitlines() if len(line.strip()) > 6}, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def _redact(self, text):
        for line in self._hidden_lines:  # as printed, and as repr() prints it inside a list or dict
            text = text.replace(line, REDACTED).replace(repr(line)[1:-1], REDACTED)
        return MARKERS.sub(REDACTED, text)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error" and utils.is_grade(cell):
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
            if "text" in output:
                output["text"] = self._redact(output["text"])
            if output.get("output_type") == "error":
                output["evalue"] = self._redact(output.get("evalue", ""))
                output["traceback"] = [self._redact(line) for line in output.get("traceback", [])]
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = self._redact(value)
        return cell, resources


# ---------------------------------------------------------------- the summary that opens the feedback page
NAMES = parts.names()  # grade id or part -> its name for people, from the declarations (grading/parts/)
SHORT = 100  # characters of a message in the summary
ASIDE = re.compile(r"[(（][\u4e00-\u9fff][^()（）]*[)）]")  # a remark in parentheses: (允许 …), (与 …)


def name(grade_id):
    return NAMES.get(grade_id, grade_id)


def short(message):
    """The grader's message in one line: its first line without the remarks in parentheses (those that start
    in Chinese; code such as l2_penalty(w) stays), cut to SHORT characters."""
    line = ASIDE.sub("", (message.strip().splitlines() or [""])[0])
    return line if len(line) <= SHORT else line[:SHORT - 1] + "…"


class GetGradesAndStatus(GetGrades):
    """nbgrader's GetGrades; also notes whether a grade still waits for the TA (a 思考题 not graded yet), and which
    comment the TA wrote (nbgrader's own comment is "No response." on an answer left as handed out)."""

    def _get_comment(self, cell, resources):
        super()._get_comment(cell, resources)
        comment = self.gradebook.find_comment(cell.metadata.nbgrader["grade_id"], self.notebook_id,
                                              self.assignment_id, self.student_id)
        cell.metadata.nbgrader["ta_comment"] = comment.manual_comment
        cell.metadata.nbgrader["unanswered"] = comment.auto_comment is not None

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata.nbgrader["grade_id"], self.notebook_id, self.assignment_id,
                                          self.student_id)
        cell.metadata.nbgrader["needs_manual_grade"] = grade.needs_manual_grade


class FeedbackSummary(NbGraderPreprocessor):
    """The rows of the summary that opens the feedback page (grading/templates/lab2_feedback/), one per part:
    its points from the gradebook (GetGradesAndStatus) and, where it lost points, each failing test with the
    grader's message in one line (the message HideHiddenTests left in the cell, never hidden-test code); a
    思考题's row has the TA's comments, or says that it was left unanswered. Runs after ClearMarkScheme: a rubric,
    its mark scheme gone, becomes a plain markdown cell (the question), so the page shows no task and the index
    does not list it."""

    def preprocess(self, nb, resources):
        rows = {p: {"part": p, "name": name(p), "score": 0.0, "max": 0.0, "pending": False, "anchor": None,
                    "failed": [], "comments": [], "unanswered": False} for p in parts.NAMES + parts.QUESTION_NAMES}
        for cell in nb.cells:
            gid = course.meta(cell).get("grade_id", "")
            row = rows.get(parts.part_name(gid))
            if row is None:
                continue
            m = cell.metadata.nbgrader
            if m.get("ta_comment"):
                row["comments"].append(m["ta_comment"])
            if is_rubric(cell):
                del cell.metadata["nbgrader"]
            elif m.get("grade"):
                row["anchor"] = row["anchor"] or gid
                row["score"] += m["score"] or 0
                row["max"] += m["points"]
                row["pending"] |= bool(m.get("needs_manual_grade"))
                row["unanswered"] |= parts.is_manual(gid) and bool(m.get("unanswered"))
                if course.is_test(cell) and (m["score"] or 0) < m["points"]:
                    errors = [o.get("evalue", "") for o in cell.outputs if o.output_type == "error"]
                    row["failed"].append({"grade_id": gid, "name": name(gid),
                                          "message": short(errors[0]) if errors else ""})
        resources["lab2"] = {"summary": list(rows.values()), "names": NAMES}
        return nb, resources


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, opened by the summary: nbgrader_config.py names its template. The page carries
    the course's Content-Security-Policy (grading/csp.py)."""

    content_security_policy = Unicode(csp.FEEDBACK, help="The Content-Security-Policy of the feedback page, as a "
                                      "<meta http-equiv> at the top of its <head> (grading/csp.py): no inline script "
                                      "from content runs. Empty: none.").tag(config=True)

    def from_notebook_node(self, nb, resources=None, **kw):
        page, resources = super().from_notebook_node(nb, resources, **kw)
        return (csp.with_policy(page, self.content_security_policy) if self.content_security_policy else page), resources
