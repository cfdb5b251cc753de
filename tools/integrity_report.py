"""Integrity report for the TA after an autograde: which submissions touched locked or test cells, tampered
with the grading kernel, used a part's library op or autograd, hid what they call, monkeypatched torch,
numpy or builtins, tried something the grading sandbox blocks, or stopped the grading kernel, each with its
evidence (cell and line). Writes integrity_report.md and prints it.

    python tools/integrity_report.py [--course .]

A finding is a reason to look, not a verdict: the evidence says what to look at.
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import re
from pathlib import Path

from grading import sanitize, source_rules  # the rules autograde applies, outside the kernel
from grading.notebook_repair import NotANotebook, read_submitted
from grading.rules import finding_kinds
import course

BLOCKED_ERRORS = re.compile(r"PermissionError|Read-only file system|Network is unreachable|ConnectionRefusedError|"
                            r"BlockingIOError|Resource temporarily unavailable|MemoryError|CellTimeoutError|"
                            r"KeyboardInterrupt|GradingStopped")
# how each kind of source finding reads, and what it cost: declared with the kind (grading/rules/finding_kinds.py: FINDING_KINDS)
FIRST = ("unreadable code", "grading stopped")  # what waits for the TA: listed first


def where(cell, index):
    gid = course.meta(cell).get("grade_id") if cell is not None else None
    return f"cell {index + 1}" + (f" ({gid})" if gid else "")


def check_submission(submitted, release, autograded):
    findings = []
    locked = {course.meta(c)["grade_id"]: c for c in release.cells if course.meta(c).get("locked")}
    seen = set()
    for i, cell in enumerate(submitted.cells):
        gid = course.meta(cell).get("grade_id")
        if gid in locked:
            seen.add(gid)
            if cell.source != locked[gid].source:
                old, new = locked[gid].source.splitlines(), cell.source.splitlines()
                n = next((k for k, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
                changed = new[n] if n < len(new) else "(lines removed)"
                findings.append(("changed a locked/test cell", f"{where(cell, i)}, line {n + 1}: {changed.strip()}"))
            if "skip-execution" in cell.metadata.get("tags", []):
                findings.append(("tagged a test cell skip-execution", where(cell, i)))
    for gid in sorted(set(locked) - seen):
        findings.append(("deleted a locked/test cell", gid))
    # the code: what the grading run found (the same rules, applied outside the kernel), else read it now
    recorded = autograded.metadata.get("lab2_grading", {}).get("findings") if autograded is not None else None
    code = recorded if recorded is not None else [f.as_dict() for f in source_rules.scan_notebook(submitted)]
    for f in code:
        cell = submitted.cells[f["cell"]] if f["cell"] < len(submitted.cells) else None
        kind = finding_kinds.FINDING_KINDS.get(f["kind"])
        label = kind.report.format(rule=f["rule"], what=f["what"]) if kind else f["kind"]
        findings.append((label, f"{where(cell, f['cell'])}, line {f['line']}: {f['code']}"))
    if autograded is not None:
        review = autograded.metadata.get("lab2_needs_review")
        if review:
            findings.append(("grading stopped: needs review", f"cell {review['cell']}: {review['fault']} {review['detail']}"))
        for i, cell in enumerate(autograded.cells):
            for output in cell.get("outputs", []):
                text = output.get("text", "") + output.get("ename", "") + " " + output.get("evalue", "")
                hit = BLOCKED_ERRORS.search(text)
                if hit and "GradingStopped" not in text:
                    snippet = next(l for l in text.splitlines() if hit.group(0) in l).strip()[:160]
                    findings.append(("stopped by the sandbox or a limit", f"{where(cell, i)}: {snippet}"))
    return findings


def report(folder="."):
    folder = Path(folder)
    release = course.read(course.release_nb(folder))
    result = {}
    for student in sorted(p.name for p in (folder / "submitted").iterdir()):
        path = course.submitted_nb(folder, student)
        if not path.exists():
            continue
        graded_path = course.autograded_nb(folder, student)
        graded = course.read(graded_path) if graded_path.exists() else None
        try:
            submitted = read_submitted(path)  # as autograde read it (a BOM, a tag with a comma: repaired)
        except Exception as err:  # whatever the upload is, it is listed, never a crash of the report
            why = err.reason if isinstance(err, NotANotebook) else str(err).splitlines()[0][:160]
            result[student] = [("not a readable notebook", f"{path.relative_to(folder)}: {why}"),
                               ("not autograded", "no notebook in autograded/: grade by hand")]
            continue
        findings = check_submission(submitted, release, graded)
        if graded is None:
            findings.append(("not autograded", "no notebook in autograded/: grade by hand"))
        result[student] = findings
    return result


def waits_for_review(findings):
    """Whether a submission has points held until a TA reads its code (unreadable code, or grading stopped)."""
    return any(kind.startswith(FIRST) for kind, _ in findings)


def in_order(result):
    """The flagged submissions, those waiting for a review first; each one's findings, those first too."""
    flagged = {s: sorted(f, key=lambda item: not item[0].startswith(FIRST)) for s, f in result.items() if f}
    return dict(sorted(flagged.items(), key=lambda item: (not waits_for_review(item[1]), item[0])))


def as_markdown(result):
    flagged = in_order(result)
    review = [s for s, f in flagged.items() if waits_for_review(f)]
    lines = [f"# Integrity report: {len(flagged)} of {len(result)} submissions to look at", ""]
    if review:
        lines += [f"**Waiting for your review ({len(review)})**: {', '.join(review)}. Their held tests score 0 until "
                  "you read the code and give the points back in the Formgrader (README, TAs: the review path).", ""]
    for student, findings in flagged.items():
        lines.append(f"## {student}")
        lines += [f"- **{kind}**: {sanitize.code_span(evidence)}" for kind, evidence in findings]
        lines.append("")
    clean = sorted(s for s, f in result.items() if not f)
    lines.append(f"Nothing found in: {', '.join(clean) if clean else '(none)'}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    folder = Path(parser.parse_args().course)
    text = as_markdown(report(folder))
    (folder / "integrity_report.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
