"""The class from the LMS: the collector of `nbgrader zip_collect` for this course.

The TA puts the LMS download into downloaded/lab2_regularization/archive/ and runs
`nbgrader zip_collect lab2_regularization`: nbgrader extracts every archive there into .../extracted/, then asks
this collector, file by file, whose notebook each file is, and copies it to
submitted/<student id>/lab2_regularization/lab2_regularization.ipynb.

The names it reads are nbgrader's setting FileNameCollectorPlugin.named_regexp (nbgrader_config.py), matched
against a file's base name: a group `student_id`, and an optional group `resubmission` (the number the LMS appends,
`-1`, `-2`, to a file handed in again: the highest is the student's latest). Every file goes to this course's one
notebook, whatever the student called it.

The archives are unpacked within budgets by this course's extractor (grading/zip_budget.py); each member it did
not write is listed in the same report ("not extracted", with the reason).

Nothing is dropped silently: each file that is not collected is listed with its reason on the console and in
downloaded/lab2_regularization/collect_report.md (with the files that were): not a notebook, a notebook that
does not parse, a name that cannot be read, an earlier submission of a student who handed in again, or a student
id that several files claim with nothing to say which one is the latest (then none of them is collected: the TA
decides).
"""
import os
import re
from collections import defaultdict
from pathlib import Path

import nbformat
from nbgrader.plugins import FileNameCollectorPlugin

import course
from grading.sanitize import code_span

EXPECTED = (f"<name>_<student id>_<submission id>_{course.ASSIGNMENT}.ipynb (Canvas-style) or <student id>.ipynb "
            "(a plain zip), with -1, -2, ... for a resubmission")


def plan(paths, named_regexp):
    """Decide for every file: (collected {path: student id}, rows [(path, student id or '', what happened)])."""
    pattern = re.compile(named_regexp) if named_regexp else None
    rows, candidates = [], defaultdict(list)
    for path in sorted(paths):
        name, ext = os.path.basename(path), os.path.splitext(path)[1]
        # a file that is not a notebook is still named for its student where it can be read (x.pdf as if x.ipynb)
        match = pattern.match(name if ext.lower() == ".ipynb" else name[:len(name) - len(ext)] + ".ipynb") \
            if pattern else None
        student = (match.groupdict().get("student_id") or "") if match else ""
        if ext.lower() != ".ipynb":
            rows.append((path, student, f"not collected: not a notebook ({ext or 'no extension'})"))
        elif pattern is None:
            rows.append((path, "", "not collected: no FileNameCollectorPlugin.named_regexp is configured"))
        elif not student:
            rows.append((path, "", f"not collected: the name cannot be read (expected {EXPECTED})"))
        elif student.startswith(".") or os.sep in student:
            rows.append((path, "", f"not collected: {student!r} cannot be a student folder"))
        else:
            try:
                nbformat.read(path, as_version=4)
            except Exception as err:  # any file that nbformat cannot read is not a notebook to grade
                reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
                rows.append((path, student, f"not collected: not a notebook (it does not parse: {reason})"))
                continue
            candidates[student].append((int(match.groupdict().get("resubmission") or 0), path))
    collected = {}
    for student, files in candidates.items():
        files.sort(reverse=True)
        latest = [path for rank, path in files if rank == files[0][0]]
        if len(latest) > 1:
            for path in latest:
                others = ", ".join(os.path.basename(p) for p in latest if p != path)
                rows.append((path, student, f"not collected: student id {student} is also claimed by {others}, with "
                             f"nothing to say which is the latest; put the right one at "
                             f"{course.submitted_nb('.', student)} by hand"))
        else:
            collected[latest[0]] = student
            rows.append((latest[0], student, "collected" + (f" (resubmission -{files[0][0]}, the latest)"
                                                            if files[0][0] else "")))
        for rank, path in files[len(latest):]:
            rows.append((path, student, f"not collected: an earlier submission (the latest is "
                                        f"{os.path.basename(latest[0])})"))
    return collected, sorted(rows, key=lambda row: (row[2].startswith("collected"), row[0]))  # the problems first


def report(rows, folder, root):
    """The collect report as markdown, file paths relative to `folder` (a member the extractor skipped is named as
    archive:member, relative already)."""
    got = sum(1 for _, _, what in rows if what.startswith("collected"))
    lines = [f"# zip_collect {course.ASSIGNMENT}: {got} notebooks collected, {len(rows) - got} files not collected", "",
             f"From {os.path.relpath(folder, root)}/. Each file that was not collected is listed first, with the reason.",
             "", "| file | student id | what happened |", "| --- | --- | --- |"]
    cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731  (a name may hold anything)
    lines += [f"| {cell(code_span(os.path.relpath(path, folder) if os.path.isabs(path) else path))} | {cell(student)} | "
              f"{cell(what)} |"
              for path, student, what in rows]
    return "\n".join(lines) + "\n"


class LmsCollector(FileNameCollectorPlugin):
    """zip_collect's collector for this course (nbgrader_config.py: ZipCollectApp.collector_plugin): reads the
    student id from the file name (named_regexp), keeps each student's latest notebook, lists every other file
    with its reason (console and downloaded/<assignment>/collect_report.md)."""

    _collected = None

    def collect(self, submitted_file):
        if self._collected is None:
            self._collected = self._plan(Path(submitted_file))
        student = self._collected.get(os.path.normpath(submitted_file))
        return {"student_id": student, "file_id": course.NOTEBOOK} if student else None

    def _plan(self, first):
        app = self.parent
        try:  # the folder zip_collect extracted into (nbgrader hands its files over one by one, sorted)
            folder = Path(app._format_collect_path(app.extracted_directory))
            root = app.coursedir.root
        except AttributeError:  # not run by zip_collect: the file's own folder
            folder, root = first.parent, first.parent.parent
        paths = [os.path.normpath(os.path.join(top, name)) for top, _, names in os.walk(folder) for name in names]
        collected, rows = plan(paths, self.named_regexp)
        # what the extractor did not write (grading/zip_budget.py: budgets, paths outside the folder, links, names)
        skipped = getattr(getattr(app, "extractor_plugin_inst", None), "skipped", [])
        rows = [(where, "", f"not extracted: {why}") for where, why in skipped] + rows  # where: archive:member
        for path, student, what in rows:
            if not what.startswith(("collected", "not extracted")):  # the extractor has said those
                self.log.warning("NOT COLLECTED %s%s: %s", os.path.relpath(path, folder),
                                 f" (student {student})" if student else "", what[len("not collected: "):])
        out = folder.parent / "collect_report.md"
        out.write_text(report(rows, folder, root), encoding="utf-8")
        log = self.log.warning if len(collected) < len(rows) else self.log.info
        log("%d of %d files collected; every file and what happened to it: %s", len(collected), len(rows), out)
        return collected
