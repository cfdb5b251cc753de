"""Sample submissions, generated from the instructor's master (never edited by hand).

A submission is the release notebook with some answer cells filled in. The answers come from the
source notebook's solutions, either as written or changed by a small edit that reproduces a mistake
students really make. Each sample says which test cells it is expected to fail, so the expected
score follows from the notebook's own points.

    python tools/submissions.py [--course .]   # writes submitted/<student>/lab2_regularization/
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import copy
from pathlib import Path

import nbformat

import course
from grading import parts


def solutions(source_nb):
    """grade_id -> the answer cell's source as a student would write it (solution markers dropped)."""
    return {course.meta(c)["grade_id"]: course.strip_markers(c.source).replace("**参考要点**:", "")
            for c in source_nb.cells if course.meta(c).get("solution")}


def edit(text, old, new, count=1):
    """Replace `old` by `new` in an answer; fails loudly when the master no longer contains `old`."""
    if text.count(old) < count:
        raise ValueError(f"the source notebook's solution no longer contains {old!r}: update tools/submissions.py")
    return text.replace(old, new)


def fill(release_nb, answers):
    """The release notebook with the given answer cells (grade_id -> source) replaced."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        gid = course.meta(cell).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def samples(source_nb):
    """student id -> (answers, grade_ids of the test cells it should fail, what it shows). The mistakes, and which
    parts the partial sample has done, come from the parts' declarations (grading/parts/)."""
    sol = solutions(source_nb)
    tests = set(course.autograded_points(source_nb))
    mistakes = {p.answer: edit(sol[p.answer], *p.sample_mistake) for p in parts.PARTS if p.sample_mistake}
    fails = {gid for p in parts.PARTS for gid in p.sample_fails}
    done = [p for p in parts.PARTS if p.done_in_partial_sample]
    partial = {p.answer: sol[p.answer] for p in done} | {parts.QUESTIONS[0].answer: sol[parts.QUESTIONS[0].answer]}
    return {
        "sample_complete": (sol, set(), "every part and every question answered correctly"),
        "sample_untouched": ({}, tests, "the release as handed out"),
        "sample_partial": (partial, {gid for gid in tests if parts.part_of(gid) not in done},
                           f"{', '.join(p.title for p in done)} done, the rest untouched"),
        "sample_mistakes": (dict(sol, **mistakes), fails, "a typical mistake in every part"),
    }


def expected_points(source_nb, failing):
    return sum(p for gid, p in course.autograded_points(source_nb).items() if gid not in failing)


def expected_table(source_nb):
    """student -> the row tools/grade_table.py shows for each sample once graded ({part: points, 'auto', 'max_auto',
    'manual_pending'}: the 思考题 it answered wait for a TA), from the samples and the declared points."""
    table = {}
    for student, (answers, failing, _) in samples(source_nb).items():
        row = {p.name: sum(t.points for t in p.tests if t.grade_id not in failing) for p in parts.PARTS}
        row.update(auto=sum(row.values()), max_auto=sum(parts.AUTOGRADED.values()),
                   manual_pending=sum(q.points for q in parts.QUESTIONS if q.answer in answers))
        table[student] = row
    return table


def write_submission(folder, student, nb):
    path = course.submitted_nb(folder, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_samples(folder):
    folder = Path(folder)
    source_nb, release_nb = course.read(course.source_nb(folder)), course.read(course.release_nb(folder))
    result = {}
    for student, (answers, failing, what) in samples(source_nb).items():
        write_submission(folder, student, fill(release_nb, answers))
        result[student] = (expected_points(source_nb, failing), what)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    args = parser.parse_args()
    for student, (points, what) in write_samples(args.course).items():
        print(f"{student:18s} expected auto score {points:5.1f}  ({what})")


if __name__ == "__main__":
    main()
