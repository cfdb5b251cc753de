"""Sample submissions, generated from the instructor's master (never edited by hand).

A submission is the release notebook with some answer cells filled in. The answers come from the
source notebook's solutions, either as written or changed by a small edit that reproduces a mistake
students really make. Each sample says which test cells it is expected to fail, so the expected
score follows from the notebook's own points.

    python tools/submissions.py [--course .]   # writes submitted/<student>/lab2_regularization/
"""
import argparse
import copy
from pathlib import Path

import nbformat

import course


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
    """student id -> (answers, grade_ids of the test cells it should fail, what it shows)."""
    sol = solutions(source_nb)
    tests = set(course.autograded_points(source_nb))
    parts = lambda *names: {gid for gid in tests if course.part(gid) in names}
    mistakes = {
        "relu_impl": edit(sol["relu_impl"], "torch.where(x > 0,", "torch.where(x >= 0,"),
        "sigmoid_impl": edit(sol["sigmoid_impl"], "return s * (1 - s)", "return s * (1 + s)"),
        "tanh_impl": edit(sol["tanh_impl"], "return 1 - self(x) ** 2", "return 1 - self(x)"),
        "forward_impl": edit(sol["forward_impl"], "return self.output_layer(x)",
                             "return self.activation(self.output_layer(x))"),
        "l2_impl": edit(sol["l2_impl"], "torch.sum(w.pow(2)) / 2", "torch.sum(w.pow(2))"),
        "dropout_impl": edit(sol["dropout_impl"], "return mask * X / (1.0 - dropout)", "return mask * X"),
    }
    return {
        "sample_complete": (sol, set(), "every part and every question answered correctly"),
        "sample_untouched": ({}, tests, "the release as handed out"),
        "sample_partial": ({k: sol[k] for k in ("relu_impl", "sigmoid_impl", "l2_impl", "q1_answer")},
                           tests - parts("relu", "sigmoid", "l2"), "ReLU, Sigmoid and l2_penalty done, the rest untouched"),
        "sample_mistakes": (dict(sol, **mistakes),
                            {"relu_derivative", "sigmoid_derivative", "tanh_derivative", "l2_value", "l2_grad",
                             "dropout_stats", "dropout_mask"} | parts("forward"),
                            "a typical mistake in every part"),
    }


def expected_points(source_nb, failing):
    return sum(p for gid, p in course.autograded_points(source_nb).items() if gid not in failing)


def write_submission(folder, student, nb):
    path = course.submitted_nb(folder, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_samples(folder=course.ROOT):
    folder = Path(folder)
    source_nb, release_nb = course.read(course.source_nb(folder)), course.read(course.release_nb(folder))
    result = {}
    for student, (answers, failing, what) in samples(source_nb).items():
        write_submission(folder, student, fill(release_nb, answers))
        result[student] = (expected_points(source_nb, failing), what)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=str(course.ROOT))
    args = parser.parse_args()
    for student, (points, what) in write_samples(args.course).items():
        print(f"{student:18s} expected auto score {points:5.1f}  ({what})")


if __name__ == "__main__":
    main()
