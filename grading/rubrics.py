"""The 思考题 rubrics: nbgrader's own "manually graded task" cells with a MARK SCHEME region.

Each question's prompt in the master is a locked task cell of 0 points whose mark scheme holds the reference
points and how the question's 7 points split among them, as a short quoted block ("评分要点"). nbgrader keeps the
whole cell in the gradebook and strips the mark scheme from the release; autograde puts the cell back whole, so
the Formgrader shows the rubric right above the answer it grades; feedback strips it again (ClearMarkScheme in
nbgrader_config.py). The points stay on the answer cell (q<n>_answer).

The mark scheme's delimiters are HTML comments, which markdown renders as nothing (nbgrader's usual
"### BEGIN MARK SCHEME" renders as a large heading on the grading page). nbgrader's ClearMarkScheme looks for
its delimiters ("BEGIN MARK SCHEME", "END MARK SCHEME", its defaults) anywhere in a line, so it strips this form
as it strips the usual one, in generate_assignment and in feedback: there is nothing to configure.

nbgrader would list a 0-point task as waiting for a manual grade, so every submission would wait for a click
on each rubric: SaveAutoGradesAndRubrics settles those at 0 of 0 when it stores the autograded scores.
"""
from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades

BEGIN_MARK_SCHEME, END_MARK_SCHEME = "<!-- BEGIN MARK SCHEME -->", "<!-- END MARK SCHEME -->"


def is_rubric(cell):
    return utils.is_task(cell) and float(cell.metadata["nbgrader"].get("points", 0)) == 0


class SaveAutoGradesAndRubrics(SaveAutoGrades):
    """nbgrader's SaveAutoGrades; a rubric (a 0-point task cell) is stored as graded, 0 of 0."""

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if is_rubric(cell):
            grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                              self.assignment_id, self.student_id)
            grade.auto_score, grade.needs_manual_grade = 0.0, False
            self.gradebook.db.commit()
        return cell, resources
