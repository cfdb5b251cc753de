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
from nbconvert.preprocessors import Preprocessor
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

BEGIN_MARK_SCHEME, END_MARK_SCHEME = "<!-- BEGIN MARK SCHEME -->", "<!-- END MARK SCHEME -->"


def is_rubric(cell):
    return utils.is_task(cell) and float(cell.metadata["nbgrader"].get("points", 0)) == 0


class SaveAutoGradesAndRubrics(SaveAutoGrades):
    """nbgrader's SaveAutoGrades; a rubric (a 0-point task cell) is stored as graded, 0 of 0. The notebook's rows are
    written in one transaction: nbgrader commits once per cell (about 35 here), and a SQLite commit waits for the disk
    (5 to 25 ms each on the build machine); one commit also stores a notebook's grades all or none."""

    def preprocess(self, nb, resources):
        """nbgrader's SaveAutoGrades.preprocess (the same ids, one Gradebook), its cells' commits made one."""
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session = self.gradebook.db
            session.commit = session.flush  # each cell's rows written, committed below with the others
            try:
                nb, resources = Preprocessor.preprocess(self, nb, resources)  # the cells, in order
            finally:
                del session.commit
            session.commit()
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if is_rubric(cell):
            grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                              self.assignment_id, self.student_id)
            grade.auto_score, grade.needs_manual_grade = 0.0, False
        return cell, resources
