"""nbgrader autograde end to end on a temporary course: the sample class gets exactly its points."""
import csv

import nbformat

from conftest import ASSIGNMENT, nbgrader, submissions
import grade_table


def cell_scores(course, student):
    """grade_id -> (score, max) of one student's autograded test cells, read from the gradebook."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: (g.auto_score, g.max_score) for g in nb.grades if not g.name.startswith("q")}


def test_sample_class_gets_exactly_its_points(course, graded_samples, source_nb):
    table = grade_table.scores(course)
    print("\n" + grade_table.format_table(table))
    for student, (answers, failing, what) in submissions.samples(source_nb).items():
        scores = cell_scores(course, student)
        wrong = {gid: s for gid, s in scores.items() if (s[0] == 0) != (gid in failing)}
        assert not wrong, f"{student} ({what}): cells scored against expectation: {wrong}"
        assert table[student]["auto"] == graded_samples[student][0]
    assert table["sample_complete"]["auto"] == table["sample_complete"]["max_auto"] == 65
    assert table["sample_untouched"]["auto"] == 0


def test_complete_solution_runs_every_cell_without_error(course, graded_samples):
    nb = nbformat.read(str(course / "autograded" / "sample_complete" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), 4)
    errors = [(i, o.ename, o.evalue) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"MNIST 数据目录: {course / 'data'}" in text, "the notebook did not find the course's data/ from autograded/"
    assert "运行规模: 小规模" in text
    plots = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    assert plots >= 8, f"only {plots} plots drawn at the small scale"


def test_kernel_leaves_only_the_notebook_in_the_student_folder(course, graded_samples):
    """The sandboxed kernel's temporary files (torch's caches, matplotlib's config) go to its private
    /tmp, not into autograded/<student>/ next to the notebook."""
    for student in graded_samples:
        folder = course / "autograded" / student / ASSIGNMENT
        assert sorted(p.name for p in folder.iterdir()) == [f"{ASSIGNMENT}.ipynb"], (student, list(folder.iterdir()))


def test_feedback_hides_hidden_tests_and_explains_failures(course, graded_samples):
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    pages = {s: (course / "feedback" / s / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
             for s in graded_samples}
    for student, page in pages.items():
        for secret in ("HIDDEN TESTS", "lab2_grader", "lab2_probe", "参考要点"):
            assert secret not in page, f"{student}'s feedback shows {secret!r}"
    assert "l2_penalty 的值应为 15" in pages["sample_mistakes"]


def test_grades_csv_export(course, graded_samples):
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {s: points for s, (points, _) in graded_samples.items()}


def test_parallel_autograde_writes_the_rows_of_serial_autograde(course, graded_samples, tmp_path, mnist_dir):
    import autograde_parallel
    from conftest import make_course
    parallel = make_course(tmp_path, mnist_dir)
    submissions.write_samples(parallel)
    assert autograde_parallel.autograde_parallel(parallel, workers=2, quiet=True) == {}
    assert grade_table.gradebook_rows(parallel) == grade_table.gradebook_rows(course)
    for student in graded_samples:
        assert (parallel / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
