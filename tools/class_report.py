"""The class at a glance, after autograde (and, as it goes on, the grading of the 思考题): writes
class_report.html and class_report.csv into the course folder.

    python tools/class_report.py [--course .]

The page shows how each part's points spread (matplotlib figures in the page), how many students made each
typical mistake (the stable mistake id every failing hidden test carries, with one message as an example),
the 思考题 marks once graded, and the submissions to look at: kernel faults, budgets gone over, integrity
findings, each with a link to its autograded notebook, and the pairs the similarity report flagged (similarity.csv,
when tools/similarity.py has run), each linked to its side-by-side view; and the students not graded, each with the
reason (a file that is no notebook: grading/notebook_repair.py), left out of the figures. The CSV has one row per
student, the not graded with their reason.
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import base64
import csv
import html
import io
import os
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

import course  # noqa: E402
from tools import integrity_report, similarity  # noqa: E402
from grading import csp, parts  # noqa: E402
from grading.notebook_repair import NOT_A_NOTEBOOK, why_not_graded  # noqa: E402

PARTS, QUESTIONS, AUTO = parts.NAMES, parts.QUESTION_NAMES, sum(parts.AUTOGRADED.values())


def gather(folder):
    """Per student: points per part and question, and the mistake ids of the failing tests."""
    students = {}
    with course.gradebook(folder) as gb:
        for submission in gb.assignment_submissions(course.ASSIGNMENT):
            row = {"parts": defaultdict(float), "max": defaultdict(float), "questions": {}, "mistakes": []}
            for nb in submission.notebooks:
                for grade in nb.grades:
                    part = parts.part_name(grade.name)
                    if part in PARTS:
                        row["parts"][part] += grade.score or 0
                        row["max"][part] += grade.max_score
                    elif part in QUESTIONS and grade.max_score:
                        row["questions"][part] = None if grade.needs_manual_grade else grade.score
            students[submission.student_id] = row
    for student, row in students.items():
        path = course.autograded_nb(folder, student)
        if path.exists():
            for cell in course.read(path).cells:
                verdict = cell.metadata.get("lab2", {})
                if verdict.get("verdict") == "fail":
                    row["mistakes"].append((verdict.get("mistake") or "unknown", verdict.get("message", "")))
    return students


def not_graded(folder, graded):
    """The students of submitted/ without an autograded notebook: student -> why, in the TA's words."""
    submitted = Path(folder) / "submitted"
    found = {}
    for student in sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []:
        if student in graded and course.autograded_nb(folder, student).exists():
            continue
        why = why_not_graded(course.submitted_nb(folder, student))
        found[student] = f"{NOT_A_NOTEBOOK}: {why}" if why else \
            "not autograded yet, or autograde failed (tools/class_status.py, autograde_logs/)"
    return found


def figure(draw, width=10, height=3.2):
    fig = plt.figure(figsize=(width, height))
    draw(fig)
    for ax in fig.axes:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def part_figure(students):
    def draw(fig):
        for i, part in enumerate(PARTS):
            ax = fig.add_subplot(1, len(PARTS), i + 1)
            points = [row["parts"].get(part, 0) for row in students.values()]
            top = max((row["max"].get(part, 0) for row in students.values()), default=0) or 1
            ax.hist(points, bins=[b - 0.5 for b in range(int(top) + 2)], color="#4c72b0")
            ax.set_title(f"{part} (/{top:.0f})")
            ax.set_xlabel("points")
            if i == 0:
                ax.set_ylabel("students")
    return figure(draw)


def total_figure(students):
    def draw(fig):
        ax = fig.add_subplot(1, 1, 1)
        ax.hist([sum(row["parts"].values()) for row in students.values()], bins=range(0, int(AUTO) + 6, 5), color="#55a868")
        ax.set_xlabel(f"autograded points (of {AUTO:g})")
        ax.set_ylabel("students")
    return figure(draw, width=6)


def question_figure(students):
    def draw(fig):
        for i, q in enumerate(QUESTIONS):
            ax = fig.add_subplot(1, len(QUESTIONS), i + 1)
            marks = [row["questions"][q] for row in students.values() if row["questions"].get(q) is not None]
            ax.hist(marks, bins=[b - 0.5 for b in range(int(parts.QUESTIONS[i].points) + 2)], color="#c44e52")
            ax.set_ylim(0, None if marks else 1)
            ax.set_title(f"{q} ({len(marks)} graded)")
            ax.set_xlabel(f"points (/{parts.QUESTIONS[i].points:g})")
    return figure(draw)


def table(head, rows):
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def write(folder):
    folder = Path(folder)
    students = gather(folder)
    missing = not_graded(folder, students)
    students = {s: row for s, row in students.items() if s not in missing}  # an empty row is no 0 in the figures
    flags = integrity_report.report(folder)
    mistakes, example, who = Counter(), {}, defaultdict(list)
    for student, row in students.items():
        for mistake, message in dict(row["mistakes"]).items():
            mistakes[mistake] += 1
            example.setdefault(mistake, message)
            who[mistake].append(student)
    n = len(students)
    totals = [sum(row["parts"].values()) for row in students.values()]
    link = lambda s: (f'<a href="{html.escape(os.path.relpath(course.autograded_nb(folder, s), folder))}">'
                      f"{html.escape(s)}</a>")
    graded_q = sum(1 for row in students.values() for q in QUESTIONS if row["questions"].get(q) is not None)
    similar = similarity.flagged_pairs(folder)
    similar_rows = [(link(a) + " ~ " + link(b), "similar to a classmate: " + html.escape(f"score {score:.2f}"),
                     f'<a href="similarity_report.html#pair-{n}">similarity_report.html</a> ' + html.escape(what))
                    for n, (a, b, score, what) in enumerate(similar, 1)]
    sections = [
        f"<h1>实验二 班级概览 / class report</h1><p>{n} submissions; autograded points: mean "
        f"{statistics.mean(totals) if totals else 0:.1f}, median {statistics.median(totals) if totals else 0:.1f} of {AUTO:g}; "
        f"思考题 marks in the gradebook (a blank answer gets 0 by itself): {graded_q} of {n * len(QUESTIONS)}.</p>",
        "<h2>Points per part</h2>" + part_figure(students) + total_figure(students),
        "<h2>Typical mistakes</h2>" + table(
            ["mistake id", "students", "share", "example message", "who"],
            [(f"<code>{html.escape(m)}</code>", c, f"{c / n:.0%}", html.escape(example[m][:220]),
              ", ".join(link(s) for s in sorted(who[m])[:12]) + (" …" if len(who[m]) > 12 else ""))
             for m, c in mistakes.most_common()]),
        "<h2>思考题 marks</h2>" + question_figure(students),
        "<h2>Submissions to look at</h2>" + table(
            ["student", "finding", "evidence"],
            [(link(s), html.escape(kind), f"<code>{html.escape(evidence)}</code>")
             for s, findings in integrity_report.in_order(flags).items() for kind, evidence in findings] + similar_rows)
        + ("<p>Similar pairs: a match is a reason to look, not a verdict (python tools/similarity.py).</p>"
           if similar_rows else ""),
        f"<h2>NOT GRADED ({len(missing)})</h2><p>Not in the figures above: fix the file with the student (or grade it "
        "by hand), then autograde them again.</p>" + table(["student", "why"], [
            (html.escape(s), html.escape(why)) for s, why in missing.items()]),
    ]
    style = ("body{font-family:sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}img{max-width:100%}")
    page = f'<!doctype html><html><head><meta charset="utf-8">{csp.meta(csp.REPORT)}<title>class report</title>' \
           f"<style>{style}</style></head>" \
           f"<body>{''.join(sections)}</body></html>"
    (folder / "class_report.html").write_text(page, encoding="utf-8")
    with open(folder / "class_report.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["student", *PARTS, "auto", *QUESTIONS, "mistakes", "flags", "similar_to", "not graded"])
        partners = defaultdict(list)
        for a, b, _, _ in similar:
            partners[a].append(b)
            partners[b].append(a)
        for student, why in missing.items():
            out.writerow([student, *[""] * (len(PARTS) + 1 + len(QUESTIONS) + 3), why])
        for student in sorted(students):
            row = students[student]
            out.writerow([student, *(f"{row['parts'].get(p, 0):g}" for p in PARTS), f"{sum(row['parts'].values()):g}",
                          *("" if row["questions"].get(q) is None else f"{row['questions'][q]:g}" for q in QUESTIONS),
                          ";".join(sorted({m for m, _ in row["mistakes"]})),
                          ";".join(sorted({kind for kind, _ in flags.get(student, [])})),
                          ";".join(sorted(partners.get(student, []))), ""])
    return folder / "class_report.html", mistakes, missing


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    page, mistakes, missing = write(Path(parser.parse_args().course))
    print(f"wrote {page} and {page.with_suffix('.csv')}")
    for mistake, count in mistakes.most_common(10):
        print(f"  {count:4d}  {mistake}")
    if missing:
        print(f"NOT GRADED ({len(missing)}):")
        for student, why in missing.items():
            print(f"  {student}: {why}")


if __name__ == "__main__":
    main()
