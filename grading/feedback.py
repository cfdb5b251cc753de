"""Feedback preprocessor: students get the grade and the failing check's message, never the
hidden tests' code (nbgrader keeps it in the autograded notebook and in tracebacks)."""
import re

import course
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

REDACTED = "[隐藏测试的内容已移除]"
MARKERS = re.compile(rf"{course.BEGIN_HIDDEN}|{course.END_HIDDEN}|lab2_(probe|grader)\.\w+\([^\n]*?\)|import lab2_(probe|grader)")


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
