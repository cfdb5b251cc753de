"""tools/gradebook_merge.py on real SQLite gradebooks, with nbgrader's own Gradebook API writing them as autograde and a
TA do: a worker's graded students land in the course's gradebook with the rows nbgrader left in the worker's copy;
a TA's manual score or comment entered in the course meanwhile stays; nobody else's rows change. (The parallel
command against serial autograde, end to end: tests/test_autograde.py.)"""
import shutil

from course import ASSIGNMENT, gradebook, gradebook_rows
from tools import gradebook_merge


def autograde_rows(folder, student, score):
    """What autograde leaves for `student`: a submission whose every code cell scored `score`, the answers waiting."""
    with gradebook(folder) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(ASSIGNMENT, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = score if grade.cell_type == "code" else None
                grade.needs_manual_grade = grade.cell_type != "code"
            for comment in notebook.comments:
                comment.auto_comment = f"auto {score}"
        gb.db.commit()


def a_ta_scores(folder, student, score, comment):
    """A TA's manual score for the student's first answer, and a comment on it (the Formgrader's writes)."""
    with gradebook(folder) as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        grade = next(g for g in notebook.grades if g.cell_type == "markdown")
        grade.manual_score = score
        next(c for c in notebook.comments if c.name == grade.name).manual_comment = comment
        gb.db.commit()


def comments(folder, student):
    with gradebook(folder) as gb:
        return sorted((c.name, c.auto_comment, c.manual_comment)
                      for c in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).comments)


def worker_copy(main, tmp_path):
    worker = tmp_path / "worker"
    worker.mkdir()
    shutil.copyfile(main / "gradebook.db", worker / "gradebook.db")
    return worker


def test_new_and_regraded_students_arrive_and_a_tas_scores_stay(base_course, tmp_path):
    main = tmp_path / "main"
    main.mkdir()
    shutil.copyfile(base_course / "gradebook.db", main / "gradebook.db")
    autograde_rows(main, "regraded", 1.0)          # graded before
    a_ta_scores(main, "regraded", 5.0, "好")
    autograde_rows(main, "bystander", 2.0)         # graded before, not in this run
    bystander = [r for r in gradebook_rows(main) if r[0] == "bystander"]
    worker = worker_copy(main, tmp_path)           # the worker's copy, taken as the run starts
    autograde_rows(worker, "regraded", 3.0)        # the worker regrades one student, grades a new one
    autograde_rows(worker, "new", 4.0)
    with gradebook(main) as gb:                    # meanwhile a TA changes a comment in the course's gradebook
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "regraded")
        notebook.comments[0].manual_comment = "后来改的"
        gb.db.commit()
    expected_comments = [(n, a.replace("1.0", "3.0") if a else a, m) for n, a, m in comments(main, "regraded")]

    gradebook_merge.merge_rows(main / "gradebook.db", worker / "gradebook.db", ["regraded", "new"])

    rows = gradebook_rows(main)
    assert [r for r in rows if r[0] == "new"] == [r for r in gradebook_rows(worker) if r[0] == "new"]
    regraded = [r for r in rows if r[0] == "regraded"]
    assert {r[2] for r in regraded if r[2] is not None} == {3.0}, regraded  # autograde's scores from the worker
    assert [r[3] for r in regraded if r[3] is not None] == [5.0], regraded  # the TA's score stays
    assert comments(main, "regraded") == expected_comments                  # so do the TA's comments
    assert [r for r in rows if r[0] == "bystander"] == bystander


def test_a_submission_made_again_under_a_new_id_replaces_the_old_one(base_course, tmp_path):
    main = tmp_path / "main"
    main.mkdir()
    shutil.copyfile(base_course / "gradebook.db", main / "gradebook.db")
    autograde_rows(main, "again", 1.0)
    worker = worker_copy(main, tmp_path)
    with gradebook(worker) as gb:  # the worker's copy has the student's submission anew (other ids)
        gb.remove_submission(ASSIGNMENT, "again")
    autograde_rows(worker, "again", 2.0)
    gradebook_merge.merge_rows(main / "gradebook.db", worker / "gradebook.db", ["again"])
    assert gradebook_rows(main) == gradebook_rows(worker)
    with gradebook(main) as gb:
        assert len(gb.find_student("again").submissions) == 1
