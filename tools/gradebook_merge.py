"""SQLite: the workers' grades written into the course's gradebook (tools/autograde_parallel.py, after its workers).

Each worker of a SQLite course grades in a private copy of the course whose gradebook.db is a copy of the course's,
taken before grading: nbgrader's own autograde there finds the rows a student already had (the same ids, a TA's
manual scores and comments) and updates them in place, or makes new ones. So a graded student's rows in the
worker's copy are the rows nbgrader would have left in the course's gradebook. They are copied over in one
transaction, row by row: a row the course's gradebook already has gets only the columns that autograde writes
(AUTOGRADE_COLUMNS), so a score or comment a TA entered meanwhile in the Formgrader stays; a new row is copied
whole; a row of the student's that the worker's copy no longer has (a submission made again under a new id) goes.
The executed notebooks come from the worker's autograded/ folder, as nbgrader wrote them there.

This replaces a second `nbgrader autograde` over the class (its chain without execution), which cost about
0.3 s per student and read every notebook again.
"""
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import course

# nbgrader's tables below a student's submission, parents first (nbgrader/api.py), with the columns that autograde
# writes in each: update_or_create_submission (the timestamp), SaveAutoGrades (scores, needs_manual_grade, the auto
# comment), AssignLatePenalties (the penalty). The others (manual scores and comments, extra credit, flags,
# extensions) are the TA's.
AUTOGRADE_COLUMNS = {
    "submitted_assignment": ("timestamp",),
    "submitted_notebook": ("late_submission_penalty",),
    "grade": ("auto_score", "needs_manual_grade"),
    "comment": ("auto_comment",),
}
# how each table's rows belong to a student's submissions: (the column naming the parent, the parent table)
PARENT = {"submitted_notebook": ("assignment_id", "submitted_assignment"),
          "grade": ("notebook_id", "submitted_notebook"), "comment": ("notebook_id", "submitted_notebook")}


def columns(db, schema, table):
    return [row[1] for row in db.execute(f"PRAGMA {schema}.table_info({table})")]


def _owned(schema, table, students):
    """SQL for the ids of `table`'s rows under the submissions of `students` (`?` per student) in `schema`."""
    if table == "submitted_assignment":
        marks = ", ".join("?" * len(students))
        return (f"SELECT id FROM {schema}.submitted_assignment WHERE student_id IN ({marks}) AND assignment_id = "
                f"(SELECT id FROM {schema}.assignment WHERE name = ?)")
    column, parent = PARENT[table]
    return f"SELECT id FROM {schema}.{table} WHERE {column} IN ({_owned(schema, parent, students)})"


def merge_rows(main_db, worker_db, students, assignment=course.ASSIGNMENT):
    """Copy the rows of `students` (graded in the worker whose gradebook is `worker_db`) into `main_db`."""
    if not students:
        return
    keys = [*students, assignment]
    with closing(sqlite3.connect(main_db, timeout=120, isolation_level=None)) as db:
        db.execute("ATTACH DATABASE ? AS worker", (str(worker_db),))
        db.execute("BEGIN IMMEDIATE")
        try:
            people = ", ".join(columns(db, "worker", "student"))
            db.execute(f"INSERT OR IGNORE INTO main.student ({people}) SELECT {people} FROM worker.student "
                       f"WHERE id IN ({', '.join('?' * len(students))})", students)
            for table in reversed(AUTOGRADE_COLUMNS):  # children first: what the worker's copy no longer has
                db.execute(f"DELETE FROM main.{table} WHERE id IN ({_owned('main', table, students)}) "
                           f"AND id NOT IN ({_owned('worker', table, students)})", keys + keys)
            for table, written in AUTOGRADE_COLUMNS.items():  # parents first
                names = ", ".join(columns(db, "worker", table))
                update = ", ".join(f"{c} = excluded.{c}" for c in written)
                db.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM worker.{table} "
                           f"WHERE id IN ({_owned('worker', table, students)}) "
                           f"ON CONFLICT(id) DO UPDATE SET {update}", keys)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def merge(main, folders, students):
    """Every graded student's rows and executed notebook, from the worker folder that graded them, into `main`."""
    main = Path(main)
    for folder in folders:
        mine = [s for s in students if (folder / "autograded" / s).exists()]
        merge_rows(main / "gradebook.db", folder / "gradebook.db", mine)
        for student in mine:
            target = main / "autograded" / student
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(folder / "autograded" / student, target, symlinks=True)
