"""Feedback preprocessor: students get the grade and the failing check's message, never the
hidden tests' code (nbgrader keeps it in the autograded notebook and in tracebacks)."""
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests


class HideHiddenTests(ClearHiddenTests):
    """Remove the hidden-test region of every test cell and shorten its error outputs to the
    exception's name and message (a traceback quotes the lines that raised)."""

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
