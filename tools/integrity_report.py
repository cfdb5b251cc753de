"""Integrity report for the TA after an autograde: which submissions touched locked or test cells,
monkeypatched torch, numpy or builtins, tried something the grading sandbox blocks, or stopped the
grading kernel, each with its evidence (cell and line). Writes integrity_report.md and prints it.

    python tools/integrity_report.py [--course .]

A finding is a reason to look, not a verdict: the evidence says what to look at.
"""
import argparse
import ast
import re
from pathlib import Path

import nbformat

ASSIGNMENT = "lab2_regularization"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
ROOT = Path(__file__).resolve().parents[1]
PATCHED_MODULES = {"torch", "nn", "F", "np", "numpy", "math", "builtins", "__builtins__", "sys", "warnings",
                   "IPython", "nbgrader", "lab2_grader"}
VISIBLE_HELPERS = {"rel_error", "check_activation_function"}
RISKY_CALLS = {"os._exit": "ends the kernel", "os.fork": "forks the kernel", "os.kill": "sends signals",
               "os.system": "runs a shell command", "subprocess": "starts processes", "socket": "opens a network connection",
               "urllib": "opens a network connection", "requests": "opens a network connection",
               "sqlite3": "opens a database", "ctypes": "calls raw memory / C", "shutil.rmtree": "deletes folders",
               "os.remove": "deletes files", "os.chmod": "changes permissions", "gradebook": "names the gradebook",
               "get_ipython": "reaches into the kernel (history, hooks)"}
BLOCKED_ERRORS = re.compile(r"PermissionError|Read-only file system|Network is unreachable|ConnectionRefusedError|"
                            r"BlockingIOError|Resource temporarily unavailable|MemoryError|CellTimeoutError|"
                            r"KeyboardInterrupt|GradingStopped")


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Subscript):
        return dotted(node.value) + "[...]"
    return ""


def code_findings(source, where):
    """Monkeypatching and risky calls in one code cell's source."""
    found = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    lines = source.splitlines()
    line = lambda n: lines[n.lineno - 1].strip() if 0 < n.lineno <= len(lines) else ""
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            name = dotted(target)
            root = name.split(".")[0].split("[")[0]
            if "." in name and root in PATCHED_MODULES or name.startswith("sys.modules"):
                found.append(("monkeypatch", f"{where}, line {node.lineno}: {line(node)}"))
            elif name in VISIBLE_HELPERS:
                found.append(("redefines a check helper", f"{where}, line {node.lineno}: {line(node)}"))
        if isinstance(node, ast.FunctionDef) and node.name in VISIBLE_HELPERS:
            found.append(("redefines a check helper", f"{where}, line {node.lineno}: def {node.name}"))
        if isinstance(node, ast.Call) and dotted(node.func) in ("setattr", "delattr") and node.args:
            if dotted(node.args[0]).split(".")[0] in PATCHED_MODULES:
                found.append(("monkeypatch", f"{where}, line {node.lineno}: {line(node)}"))
    for number, text in enumerate(lines, 1):
        for token, why in RISKY_CALLS.items():
            if re.search(rf"(?<![\w.]){re.escape(token)}\b", text):
                found.append((f"risky: {why}", f"{where}, line {number}: {text.strip()}"))
                break
    return found


def where(cell, index):
    gid = meta(cell).get("grade_id")
    return f"cell {index + 1}" + (f" ({gid})" if gid else "")


def check_submission(submitted, release, autograded):
    findings = []
    locked = {meta(c)["grade_id"]: c for c in release.cells if meta(c).get("locked")}
    seen = set()
    for i, cell in enumerate(submitted.cells):
        gid = meta(cell).get("grade_id")
        if gid in locked:
            seen.add(gid)
            if cell.source != locked[gid].source:
                old, new = locked[gid].source.splitlines(), cell.source.splitlines()
                n = next((k for k, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
                changed = new[n] if n < len(new) else "(lines removed)"
                findings.append(("changed a locked/test cell", f"{where(cell, i)}, line {n + 1}: {changed.strip()}"))
            if "skip-execution" in cell.metadata.get("tags", []):
                findings.append(("tagged a test cell skip-execution", where(cell, i)))
        elif cell.cell_type == "code":
            findings += code_findings(cell.source, where(cell, i))
    for gid in sorted(set(locked) - seen):
        findings.append(("deleted a locked/test cell", gid))
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


def report(course=ROOT):
    course = Path(course)
    release = nbformat.read(str(course / "release" / ASSIGNMENT / NOTEBOOK), as_version=4)
    result = {}
    for folder in sorted((course / "submitted").iterdir()):
        path = folder / ASSIGNMENT / NOTEBOOK
        if not path.exists():
            continue
        graded_path = course / "autograded" / folder.name / ASSIGNMENT / NOTEBOOK
        graded = nbformat.read(str(graded_path), as_version=4) if graded_path.exists() else None
        findings = check_submission(nbformat.read(str(path), as_version=4), release, graded)
        if graded is None:
            findings.append(("not autograded", "no notebook in autograded/: grade by hand"))
        result[folder.name] = findings
    return result


def as_markdown(result):
    flagged = {s: f for s, f in result.items() if f}
    lines = [f"# Integrity report: {len(flagged)} of {len(result)} submissions to look at", ""]
    for student, findings in flagged.items():
        lines.append(f"## {student}")
        lines += [f"- **{kind}**: `{evidence}`" for kind, evidence in findings]
        lines.append("")
    clean = sorted(s for s, f in result.items() if not f)
    lines.append(f"Nothing found in: {', '.join(clean) if clean else '(none)'}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=str(ROOT))
    course = Path(parser.parse_args().course)
    text = as_markdown(report(course))
    (course / "integrity_report.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
