"""nbgrader autograde end to end on a temporary course: the sample class gets exactly its points."""
import csv
import json

import nbformat
import pytest

import handed_in
from conftest import make_course, nbgrader
from grading import parts
from grading.rubrics import BEGIN_MARK_SCHEME
from tools import grade_table, submissions
from course import ASSIGNMENT, EXPERIMENT, autograded_nb, cell_scores, feedback_html, gradebook, gradebook_rows, meta

PARTS, QUESTIONS = parts.NAMES, parts.QUESTION_NAMES

pytestmark = pytest.mark.slow  # autograde of the sample class with the real nbgrader


def test_sample_class_gets_exactly_its_points(course, graded_samples, source_nb):
    table = grade_table.scores(course)
    print("\n" + grade_table.format_table(table))
    for student, (answers, failing, what) in submissions.samples(source_nb).items():
        scores = cell_scores(course, student)
        wrong = {gid: s for gid, s in scores.items() if (s == 0) != (gid in failing)}
        assert not wrong, f"{student} ({what}): cells scored against expectation: {wrong}"
        assert table[student]["auto"] == graded_samples[student][0]
    assert table["sample_complete"]["auto"] == table["sample_complete"]["max_auto"] == sum(parts.AUTOGRADED.values())
    assert table["sample_untouched"]["auto"] == 0


def test_complete_solution_runs_every_graded_cell_and_no_experiment(course, graded_samples, source_nb):
    """Autograde runs the setup, the answers and the tests, without an error; the experiments are the
    student's own run (tests/test_experiments.py runs them)."""
    from grading.student_runs import MARK_EMPTY
    nb = nbformat.read(str(autograded_nb(course, "sample_complete")), 4)
    errors = [(i, o.ename, o.evalue) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors
    experiments = [c for c in nb.cells if EXPERIMENT in c.metadata.get("tags", [])]
    tagged = [c for c in source_nb.cells if EXPERIMENT in c.metadata.get("tags", [])]
    assert len(experiments) == len(tagged) > 0 and all(c.outputs[0].text == MARK_EMPTY for c in experiments)
    ran = [c for c in nb.cells if c.cell_type == "code" and c not in experiments]
    assert all("shell.execute_reply" in c.metadata.get("execution", {}) for c in ran)
    assert "history saving thread" not in json.dumps(nb), "IPython's history warning is in a graded notebook"


def test_the_grader_sees_each_rubric_and_no_rubric_waits_for_a_click(course, graded_samples):
    """Autograde puts each 思考题's rubric (a task cell's mark scheme) back for the Formgrader; a rubric is worth
    0 points, so it never waits for a manual grade."""
    nb = nbformat.read(str(autograded_nb(course, "sample_partial")), 4)
    rubrics = [c for c in nb.cells if meta(c).get("task")]
    assert len(rubrics) == 5 and all(BEGIN_MARK_SCHEME in c.source and "评分要点" in c.source for c in rubrics)
    with gradebook(course) as gb:
        grades = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "sample_partial").grades
        rows = {g.name: (g.max_score, g.needs_manual_grade) for g in grades if g.name.endswith("_rubric")}
    assert rows == {f"q{i}_rubric": (0.0, False) for i in range(1, 6)}


def test_kernel_leaves_only_the_notebook_in_the_student_folder(course, graded_samples):
    """The sandboxed kernel's temporary files (torch's caches, matplotlib's config) go to its private
    /tmp, not into autograded/<student>/ next to the notebook."""
    for student in graded_samples:
        folder = autograded_nb(course, student).parent
        assert sorted(p.name for p in folder.iterdir()) == [f"{ASSIGNMENT}.ipynb"], (student, list(folder.iterdir()))


def test_feedback_hides_hidden_tests_and_explains_failures(course, graded_samples):
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    pages = {s: feedback_html(course, s).read_text(encoding="utf-8")
             for s in graded_samples}
    for student, page in pages.items():
        for secret in ("HIDDEN TESTS", "lab2_grader", "lab2_probe", "参考要点", "MARK SCHEME", "评分要点"):
            assert secret not in page, f"{student}'s feedback shows {secret!r}"
    assert "l2_penalty 的值应为 15" in pages["sample_mistakes"]
    for student, page in pages.items():  # the summary (one row per part) and an index without rubrics or "Test cell"
        assert page.count(" data-part=") == len(PARTS + QUESTIONS), student
        for label in ("Test cell", "Student's task", "_rubric"):
            assert label not in page, f"{student}'s feedback shows {label!r}"
    assert [pages[s].count("未作答") for s in ("sample_untouched", "sample_partial", "sample_complete")] == [5, 4, 0]
    for student, page in pages.items():  # nothing of the grading machinery in any cell
        for noise in ("history saving thread", "HistoryManager", "IPKernelApp", "lab2-kernels", "connection.json",
                      "Warning:", "Traceback (most recent call last)"):
            assert noise not in page, f"{student}'s feedback shows {noise!r}"


def test_grades_csv_export(course, graded_samples):
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {s: points for s, (points, _) in graded_samples.items()}


def test_parallel_autograde_writes_the_rows_of_serial_autograde(course, graded_samples, parallel_class):
    parallel, _, failures = parallel_class  # the samples, and files that are no notebook (tests/test_class_hands_in.py)
    assert set(failures) == set(handed_in.not_notebooks()), failures
    assert [row for row in gradebook_rows(parallel) if row[0] in graded_samples] == gradebook_rows(course)
    for student in graded_samples:
        assert autograded_nb(parallel, student).exists()


def test_experiments_are_the_students_own_run(tmp_path, mnist_dir, source_nb):
    """Autograde does not run the experiment cells again: it keeps the student's own outputs (text and images;
    no HTML or JavaScript, which would run in the TA's browser), marks them, and nothing in an experiment
    cell changes a grade, even code that would break the kernel."""
    import base64

    from grading.student_runs import MARK_KEPT

    course = make_course(tmp_path, mnist_dir)
    release_nb = nbformat.read(str(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), 4)
    nb = submissions.fill(release_nb, submissions.samples(source_nb)["sample_complete"][0])
    experiments = [c for c in nb.cells if EXPERIMENT in c.metadata.get("tags", [])]
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(40)).decode()
    for cell in experiments:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="我自己的完整规模运行: 82.1%\n"),
                        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>",
                                                                     "text/html": "<script>alert('TA')</script>"})]
    experiments[0].source = ("MyReLU = None\nget_ipython().ast_transformers.append(None)\n"
                             "import os\nos._exit(1)\n")
    submissions.write_submission(course, "own_run", nb)
    nbgrader(course, "autograde", ASSIGNMENT, "--student", "own_run", "--force")
    scores = cell_scores(course, "own_run")
    assert sum(scores.values()) == sum(parts.AUTOGRADED.values()), scores
    graded = nbformat.read(str(autograded_nb(course, "own_run")), 4)
    for cell in (c for c in graded.cells if EXPERIMENT in c.metadata.get("tags", [])):
        kinds = [(o.output_type, sorted(o.get("data", {}))) for o in cell.outputs]
        assert cell.outputs[0].text == MARK_KEPT and "82.1%" in cell.outputs[1].text, kinds
        assert kinds[2] == ("display_data", ["image/png", "text/plain"]), kinds
    assert graded.metadata["lab2_grading"]["findings"] == [], "code that never ran cost or flagged something"
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--student", "own_run", "--force")
    page = feedback_html(course, "own_run").read_text(encoding="utf-8")
    assert MARK_KEPT.strip() in page and "alert('TA')" not in page
