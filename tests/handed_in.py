"""The files a class hands in besides clean notebooks (grading/notebook_repair.py): the complete solution saved the
ways real students' files arrive, which Jupyter opens and autograde must grade as they stand, and uploads that are no
notebook, each with the reason the TA must read. tests/test_class_hands_in.py grades them with the sample class."""
import codecs
import json

from course import read, release_nb, source_nb, submitted_nb
from tools import submissions


def complete(change=None):
    """The complete solution's file, after `change` (a function of the notebook), as an editor writes it."""
    nb = submissions.fill(read(release_nb()), submissions.solutions(read(source_nb())))
    if change:
        change(nb)
    return json.dumps(nb, ensure_ascii=False, indent=1).encode()


def comma_tag(nb):
    nb.cells[3].metadata["tags"] = ["待改,再看"]


def repeated_and_missing_ids(nb):
    nb.cells[4]["id"] = nb.cells[3]["id"]
    del nb.cells[5]["id"]


def opened():
    """student -> a file Jupyter opens (every point kept once repaired)."""
    return {"saved_with_bom": codecs.BOM_UTF8 + complete(), "tag_with_comma": complete(comma_tag),
            "repeated_ids": complete(repeated_and_missing_ids)}


def not_notebooks():
    """student -> (a file that is no notebook, the reason the TA reads)."""
    cut = complete()[:40000]
    lines = cut.rstrip().count(b"\n") + 1
    return {"empty_file": (b"", "the file is empty"),
            "cut_short": (cut, f"not JSON at line {lines} (cut short?)"),
            "python_script": (b"import torch\n\n\nclass MyReLU:\n    pass\n", "a Python script, not a notebook"),
            "saved_in_gbk": (complete().decode().encode("gbk", errors="replace"), "not UTF-8 text (GBK?)")}


def write(folder):
    """Writes every file into the course's submitted/; returns student -> the bytes written."""
    files = {**opened(), **{s: data for s, (data, _) in not_notebooks().items()}}
    for student, data in files.items():
        path = submitted_nb(folder, student)
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    return files
