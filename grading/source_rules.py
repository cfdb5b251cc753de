"""The submitted notebook's code, read in the grading process (never in the kernel), cell by cell.

Every code cell a student can edit (the answer cells and any cell they added; not the experiments, which
autograde does not run) is read by grading/rules/scanner.py. What it finds:

- tampering: code that changes the grading kernel itself (IPython hooks and transformers, the exception display,
  the grader's module, stack frames, gc, ctypes, trace hooks, the op recorder): every test after that cell scores 0;
- unreadable_code: code the grader cannot read (code or names built at run time, modules the submission wrote,
  %run, functions like getattr passed around as values): every test after that cell waits for a TA's review
  (0 points until then; the TA gives them back in the Formgrader);
- autograd: a derivative's answer cell uses autograd (reverse or forward mode, torch.func, functorch, aliases):
  its derivative test scores 0;
- risky, monkeypatch, helper_redefined: code that reaches outside or patches libraries: listed in the integrity
  report, no points lost.

What a part's code may compute is judged on what it ran (grading/rules/allowlists.py), not on its names.
Names are resolved through imports (`from torch import relu as r`), constant strings are followed into
getattr/exec, and IPython syntax (%magics, !commands, the bodies of %%time and %%capture) is read as IPython runs it.
"""
import re
from dataclasses import dataclass

import course
from grading import parts
from grading.rules import finding_kinds, scanner

# ---------------------------------------------------------------- the rules (grading/rules/scanner.py reads the code)
RISKY = {"os._exit": "ends the kernel", "os.fork": "forks the kernel", "os.kill": "sends signals",
         "os.system": "runs a shell command", "subprocess": "starts processes", "socket": "opens a network connection",
         "urllib": "opens a network connection", "requests": "opens a network connection",
         "sqlite3": "opens a database", "shutil.rmtree": "deletes folders", "os.remove": "deletes files",
         "os.chmod": "changes permissions", "gradebook": "names the gradebook"}


@dataclass(frozen=True)
class Finding:
    kind: str        # tampering | unreadable_code | autograd | risky | monkeypatch | helper_redefined | syntax
    rule: str        # a stable id: the rule, or the name it matched
    cell: int        # index of the cell in the notebook (0-based)
    line: int        # line in the cell (1-based)
    code: str        # that line
    what: str        # what it does, in Chinese
    part: str = ""   # the graded part whose answer cell it is in

    @property
    def where(self):
        return f"第 {self.cell + 1} 个单元第 {self.line} 行"

    def as_dict(self):
        return {"kind": self.kind, "rule": self.rule, "cell": self.cell, "line": self.line, "code": self.code,
                "what": self.what, "part": self.part}


# ---------------------------------------------------------------- reading a notebook
def student_cells(nb):
    """(index, part) of every code cell the student controls: answer cells (part from the grade id) and cells
    without nbgrader metadata (added by the student, or unlocked release cells). Locked cells are put back from
    the master by nbgrader before grading."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = course.meta(cell)
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            continue
        part = parts.part_name(meta.get("grade_id", "")) if meta.get("solution") else ""
        yield index, part




def scan_notebook(nb, cells=None):
    """Findings for the student's code cells (only those in `cells`, when given), in notebook order."""
    findings = []
    for index, part in student_cells(nb):
        if cells is not None and index not in cells:
            continue
        source = nb.cells[index].source
        lines = source.splitlines() or [""]
        seen = set()
        derivative = part in parts.BY_NAME and parts.BY_NAME[part].derivative
        for kind, rule, line, what in scanner.scan_source(source, derivative):
            key = (kind, rule, line)
            if key in seen:
                continue
            seen.add(key)
            code = lines[min(max(line, 1), len(lines)) - 1].strip()[:200]
            findings.append(Finding(kind, rule, index, line, code, what or finding_kinds.FINDING_KINDS[kind].text, part))
        for number, text in enumerate(source.splitlines(), 1):
            for token, why in RISKY.items():
                if re.search(rf"(?<![\w.]){re.escape(token)}\b", text):
                    findings.append(Finding("risky", token, index, number, text.strip()[:200], why, part))
                    break
    return findings
