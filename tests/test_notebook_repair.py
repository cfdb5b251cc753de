"""grading/notebook_repair.py: each way a file arrives, read as Jupyter opens it. What Jupyter opens is read with
every cell as the student wrote it; what it does not open is named in the TA's words. (The whole class, graded:
tests/test_class_hands_in.py.)"""
import codecs
import copy
import json
import logging

import nbformat
import pytest

from course import read, release_nb
from grading import notebook_repair
from grading.notebook_repair import NotANotebook, SubmittedNotebookExporter, read_submission, why_not_graded

RELEASE = read(release_nb())
TEXT = json.dumps(RELEASE, ensure_ascii=False, indent=1)
DATA = TEXT.encode()
HALF, NEWLINE = len(DATA) // 2, b"\n"
CUT_IN_A_CHARACTER = DATA.index("实".encode()) + 1  # a truncated upload may end inside a character


def variant(change):
    nb = copy.deepcopy(RELEASE)
    change(nb)
    return json.dumps(nb, ensure_ascii=False, indent=1).encode()


def sources(nb):
    return [(c.cell_type, c.source) for c in nb.cells]


def tag_with_a_comma(nb):
    nb.cells[3].metadata["tags"] = ["待改,再看", "lab2-note"]


def repeated_and_missing_ids(nb):
    nb.cells[4]["id"] = nb.cells[3]["id"]
    del nb.cells[5]["id"]


def without_ids(nb):
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)


def conda_and_colab(nb):
    nb.metadata["kernelspec"] = {"name": "conda-env-dl-py", "display_name": "Python [conda env:dl]", "language": "python"}
    nb.metadata["colab"] = {"provenance": [], "toc_visible": True}
    nb.cells[2].metadata["colab"] = {"base_uri": "https://localhost:8080/"}


OPENED = {  # what Jupyter opens: read with every cell as written, and what was repaired
    "plain": (TEXT.encode(), []),
    "CRLF line endings": (TEXT.replace("\n", "\r\n").encode(), []),
    "a UTF-8 BOM": (codecs.BOM_UTF8 + TEXT.encode(), ["a UTF-8 byte order mark at the start, removed"]),
    "a tag with a comma": (variant(tag_with_a_comma), ["the tags ['待改,再看', 'lab2-note'] of a cell, split at their commas"]),
    "a repeated and a missing id": (variant(repeated_and_missing_ids),
                                    ["1 missing cell ids, added", "1 repeated cell ids, renewed"]),
    "nbformat 4.4 without ids": (variant(without_ids), []),
    "a conda kernel and Colab's metadata": (variant(conda_and_colab), []),
    "nbformat 3": (nbformat.writes(nbformat.convert(copy.deepcopy(RELEASE), 3)).encode(),
                   ["nbformat 3, converted to nbformat 4"]),
}


@pytest.mark.parametrize("kind", OPENED)
def test_a_file_jupyter_opens_is_read_as_the_student_wrote_it(kind):
    data, repairs = OPENED[kind]
    nb, made = read_submission(data)
    assert made == repairs
    nbformat.validate(nb)
    assert sources(nb) == sources(RELEASE)
    if kind == "a tag with a comma":
        assert nb.cells[3].metadata["tags"] == ["待改", "再看", "lab2-note"]
    if kind == "a repeated and a missing id":
        assert len({c.id for c in nb.cells}) == len(nb.cells)


NOT_NOTEBOOKS = {  # what it does not open: the reason, in the TA's words
    "empty": (b"", "the file is empty"),
    "blank": (b"\n  \n", "the file holds only blank space"),
    "cut short": (DATA[:HALF], f"not JSON at line {DATA[:HALF].rstrip().count(NEWLINE) + 1} (cut short?)"),
    "cut inside a character": (DATA[:CUT_IN_A_CHARACTER],
                               f"not JSON at line {DATA[:CUT_IN_A_CHARACTER].rstrip().count(NEWLINE) + 1} (cut short?)"),
    "a Python script": (b"import torch\n\nclass MyReLU:\n    pass\n", "a Python script, not a notebook"),
    "jupytext": (b"# %% [markdown]\n# \xe5\xae\x9e\xe9\xaa\x8c\n# %%\nimport torch\nx = (\n", "a Python script, not a notebook"),
    "GBK": (TEXT.encode("gbk", errors="replace"), "not UTF-8 text (GBK?)"),
    "UTF-16": (TEXT.encode("utf-16"), "not UTF-8 text (UTF-16: save it again as UTF-8)"),
    "HTML": (b"<!DOCTYPE html><html><body>lab2</body></html>", "an HTML page, not a notebook"),
    "JSON": (b'{"name": "lab2"}', "JSON, but not a notebook (it has no cells)"),
    "bad JSON": (b'{"cells": [}', "not JSON at line 1, column 12: Expecting value"),
}


@pytest.mark.parametrize("kind", NOT_NOTEBOOKS)
def test_a_file_that_is_no_notebook_is_named_for_what_it_is(kind, tmp_path):
    data, reason = NOT_NOTEBOOKS[kind]
    with pytest.raises(NotANotebook) as caught:
        read_submission(data)
    assert caught.value.reason == reason and str(caught.value) == f"not a notebook: {reason}"
    path = tmp_path / "lab2_regularization.ipynb"
    path.write_bytes(data)
    assert why_not_graded(path) == reason


def test_the_exporter_grades_the_repaired_notebook_and_names_a_file_that_is_none(tmp_path, caplog):
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    good.write_bytes(OPENED["a UTF-8 BOM"][0])
    bad.write_bytes(b"")
    exporter = SubmittedNotebookExporter()
    with caplog.at_level(logging.WARNING):
        output, _ = exporter.from_filename(str(good))
        assert sources(nbformat.reads(output, as_version=4)) == sources(RELEASE)
        assert "a UTF-8 byte order mark at the start, removed" in caplog.text
        with pytest.raises(NotANotebook):
            exporter.from_filename(str(bad))
    assert f"{notebook_repair.NOT_A_NOTEBOOK}: the file is empty" in caplog.text
    assert good.read_bytes() == OPENED["a UTF-8 BOM"][0]  # the submitted file is never written
