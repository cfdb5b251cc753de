"""What a class hands in, read as Jupyter opens it: a file Jupyter opens is graded as it stands; a file that is no
notebook is NOT GRADED, with the reason in the TA's words.

Editors save notebooks in many ways. Jupyter opens, and so this module repairs, without changing what the student
wrote: a UTF-8 byte order mark at the start (Windows editors), a cell tag holding a comma (nbformat's schema forbids
one: the tag becomes the tags it lists), duplicate or missing cell ids (renewed, added), nbformat 3 (converted), and
whatever else nbformat's own normalize() repairs (invalid metadata fields dropped). A file that Jupyter would not
open is named for what it is: "the file is empty", "not JSON at line 1203 (cut short?)", "a Python script, not a
notebook", "not UTF-8 text (GBK?)", ...

Autograde reads every submission through SubmittedNotebookExporter (nbgrader_config.py: c.Autograde.exporter_class),
so the repaired notebook is what nbgrader grades and writes to autograded/ (and so what the feedback and the
Formgrader show); the submitted file itself is never written. The same reading gives the reason to the TA's
tools (tools/class_status.py, tools/class_report.py: why_not_graded) and to nbgrader's log, which
tools/autograde_parallel.py shows in its NOT GRADED list.
"""
import ast
import codecs
import json
import os
import warnings

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat import validator
from nbformat.corpus.words import generate_corpus_id

NOT_A_NOTEBOOK = "not a notebook"  # how nbgrader's log (and so every list of the NOT GRADED) names such a file
GUESSED_ENCODINGS = ("gbk", "big5", "shift_jis", "utf-16")  # what a file that is not UTF-8 may be, named as a guess


class NotANotebook(ValueError):
    """The file is no notebook Jupyter would open; `reason` says what it is, in the TA's words."""

    def __init__(self, reason):
        super().__init__(f"{NOT_A_NOTEBOOK}: {reason}")
        self.reason = reason


def as_text(data):
    """The file's text, and the repairs made to get it (a BOM removed). Raises NotANotebook."""
    if not data.strip():
        raise NotANotebook("the file is empty" if not data else "the file holds only blank space")
    repairs = []
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        repairs.append("a UTF-8 byte order mark at the start, removed")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise NotANotebook("not UTF-8 text (UTF-16: save it again as UTF-8)")
    try:
        return data.decode("utf-8"), repairs
    except UnicodeDecodeError as err:
        if err.reason == "unexpected end of data":  # cut short inside a character: the JSON says the rest
            return data[:err.start].decode("utf-8"), repairs
        for encoding in GUESSED_ENCODINGS:
            try:
                data.decode(encoding)
            except UnicodeDecodeError:
                continue
            raise NotANotebook(f"not UTF-8 text ({encoding.upper()}?)") from None
        raise NotANotebook("not UTF-8 text") from None


def as_json(text):
    """The file's JSON object. Raises NotANotebook naming what the text is instead."""
    try:
        content = json.loads(text)
    except json.JSONDecodeError as err:
        if not text.lstrip().startswith(("{", "[")):
            raise NotANotebook(what_text_is(text)) from None
        end = text.rstrip()
        if err.pos >= len(end) or err.msg.startswith("Unterminated string"):  # the text ended where JSON went on
            raise NotANotebook(f"not JSON at line {end.count(chr(10)) + 1} (cut short?)") from None
        raise NotANotebook(f"not JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    if not isinstance(content, dict) or "cells" not in content and "worksheets" not in content:
        raise NotANotebook("JSON, but not a notebook (it has no cells)")
    return content


def what_text_is(text):
    """What a text that is not JSON is, as far as can be told."""
    start = text.lstrip()[:200].lower()
    if start.startswith(("<!doctype html", "<html")):
        return "an HTML page, not a notebook"
    try:
        ast.parse(text)
        return "a Python script, not a notebook"
    except (SyntaxError, ValueError):
        pass
    if "# %%" in text or "\nimport " in "\n" + text or "\ndef " in "\n" + text:
        return "a Python script, not a notebook"
    return f"not JSON (it begins {text.lstrip()[:40]!r})"


def split_comma_tags(nb):
    """A tag holding commas becomes the tags it lists ('待改,再看' -> '待改', '再看'): the repairs made."""
    repairs = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags")
        if isinstance(tags, list) and any(isinstance(t, str) and "," in t for t in tags):
            split = [part.strip() for t in tags for part in (t.split(",") if isinstance(t, str) else [t])]
            cell.metadata["tags"] = list(dict.fromkeys(p for p in split if p != ""))
            repairs.append(f"the tags {tags!r} of a cell, split at their commas")
    return repairs


def renew_cell_ids(nb):
    """Cells without an id get one; a repeated id is renewed (nbformat 4.5 and later): the repairs made."""
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        return []
    seen, added, renewed = set(), 0, 0
    for cell in nb.cells:
        if not isinstance(cell.get("id"), str) or not cell["id"]:
            cell["id"], added = generate_corpus_id(), added + 1
        elif cell["id"] in seen:
            cell["id"], renewed = generate_corpus_id(), renewed + 1
        seen.add(cell["id"])
    return ([f"{added} missing cell ids, added"] if added else []) + \
        ([f"{renewed} repeated cell ids, renewed"] if renewed else [])


def read_submission(data):
    """(the notebook as Jupyter opens it, the repairs made to it) of a submitted file's bytes. Raises NotANotebook."""
    text, repairs = as_text(data)
    content = as_json(text)
    major = content.get("nbformat")
    try:  # (nbformat.reads would validate, and repair ids itself with a warning each: the repairs are made here)
        nb = nbformat.convert(nbformat.reader.reads(text), 4)
    except Exception as err:  # nbformat's reader: a version it does not know, a structure it cannot convert
        raise NotANotebook(f"a notebook nbformat cannot read: {type(err).__name__}: {err}") from None
    if major != 4:
        repairs.append(f"nbformat {major}, converted to nbformat 4")
    repairs += split_comma_tags(nb) + renew_cell_ids(nb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what normalize repairs, it also warns of: counted here instead
        changes, _ = validator.normalize(nb, strip_invalid_metadata=True)
        if changes:
            repairs.append(f"{changes} other schema slips, repaired by nbformat")
        try:
            validator.validate(nb)
        except validator.ValidationError as err:
            raise NotANotebook(f"a notebook nbformat cannot repair: {str(err).splitlines()[0]}") from None
    return nb, repairs


def read_submitted(path):
    """The submitted notebook at `path` as autograde grades it (read_submission). Raises NotANotebook, OSError."""
    with open(path, "rb") as f:
        return read_submission(f.read())[0]


def why_not_graded(path):
    """Why the submitted file at `path` cannot be graded (NotANotebook's reason), or None when it can be."""
    try:
        read_submitted(path)
    except NotANotebook as err:
        return err.reason
    except OSError as err:
        return f"the file cannot be read: {err.strerror}"
    return None


class SubmittedNotebookExporter(NotebookExporter):
    """nbconvert's notebook exporter, reading the file as Jupyter opens it (read_submission): autograde's exporter
    (c.Autograde.exporter_class). A repair is logged; a file that is no notebook is logged as NOT_A_NOTEBOOK with
    its reason, and stops that student's grading (nbgrader grades everyone else)."""

    def from_file(self, file_stream, resources=None, **kw):
        raw = getattr(file_stream, "buffer", None)
        data = raw.read() if raw is not None else file_stream.read().encode("utf-8")
        name = getattr(file_stream, "name", "the notebook")
        try:
            nb, repairs = read_submission(data)
        except NotANotebook as err:
            self.log.error("%s: %s (%s); nothing was graded for this student", NOT_A_NOTEBOOK, err.reason,
                           os.path.relpath(name) if isinstance(name, str) else name)
            raise
        if repairs:
            self.log.warning("%s read as Jupyter opens it: %s", name, "; ".join(repairs))
        return self.from_notebook_node(nb, resources=resources, **kw)
