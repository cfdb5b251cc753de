"""Print the gradebook's table for the assignment: one row per student, one column per graded part.

    python tools/grade_table.py [--course .]
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
from collections import defaultdict

import course
from grading import parts


def scores(folder="."):
    """student -> {part: points} for the autograded parts, plus 'auto', 'manual_pending' and 'max_auto'."""
    table = {}
    with course.gradebook(folder) as gb:
        for submission in gb.assignment_submissions(course.ASSIGNMENT):
            row = defaultdict(float)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.auto_score is not None and not parts.is_manual(grade.name):
                        row[parts.part_name(grade.name)] += grade.score
                        row["auto"] += grade.score
                        row["max_auto"] += grade.max_score
                    elif grade.needs_manual_grade:
                        row["manual_pending"] += grade.max_score
            table[submission.student_id] = dict(row)
    return table


def format_table(table):
    head = f"{'student':20s}" + "".join(f"{p:>9s}" for p in parts.NAMES) + \
        f"{'auto':>8s}{'max':>6s}{'to grade by hand':>18s}"
    lines = [head, "-" * len(head)]
    for student in sorted(table):
        row = table[student]
        lines.append(f"{student:20s}" + "".join(f"{row.get(p, 0):9.0f}" for p in parts.NAMES)
                     + f"{row.get('auto', 0):8.0f}{row.get('max_auto', 0):6.0f}{row.get('manual_pending', 0):18.0f}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    print(format_table(scores(parser.parse_args().course)))


if __name__ == "__main__":
    main()
