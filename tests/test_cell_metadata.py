"""grading/cell_metadata.py: nbgrader's CheckCellMetadata over a schema compiled once decides as nbgrader's own does,
on the release and on notebooks whose nbgrader metadata is broken in each way the schema and the checks catch."""
import copy
import logging

import pytest
from nbgrader.nbgraderformat import ValidationError
from nbgrader.nbgraderformat.common import SchemaMismatchError
from nbgrader.preprocessors import CheckCellMetadata as NbgraderCheck

from conftest import RELEASE_NB
from grading import pipeline
from grading.cell_metadata import CheckCellMetadata

import nbformat


def release():
    return nbformat.read(str(RELEASE_NB), as_version=4)


def first(nb, predicate):
    return next(c for c in nb.cells if predicate(c.metadata.get("nbgrader", {})))


BREAKAGES = {  # what a corrupted submission's nbgrader metadata may hold (the gradebook's cells are overwritten
    # back by OverwriteCells before the first check; these reach the check where they are not)
    "points not a number": lambda nb: first(nb, lambda m: m.get("grade")).metadata["nbgrader"].update(points="ten"),
    "an unknown key's type": lambda nb: first(nb, lambda m: m.get("grade")).metadata["nbgrader"].update(locked="yes"),
    "grade id missing": lambda nb: first(nb, lambda m: m.get("grade")).metadata["nbgrader"].pop("grade_id"),
    "schema too old": lambda nb: first(nb, lambda m: m).metadata["nbgrader"].update(schema_version=2),
    "schema too new": lambda nb: first(nb, lambda m: m).metadata["nbgrader"].update(schema_version=4),
    "duplicate grade id": lambda nb: [c.metadata["nbgrader"].update(grade_id="same") for c in nb.cells
                                      if c.metadata.get("nbgrader", {}).get("grade")][:2],
    "points missing": lambda nb: first(nb, lambda m: m.get("grade")).metadata["nbgrader"].pop("points"),
}


def outcome(check, nb):
    try:
        check(log=logging.getLogger("test")).preprocess(copy.deepcopy(nb), {})
    except (ValidationError, SchemaMismatchError) as err:  # what nbgrader's check raises: the same here
        return f"{type(err).__name__}: {err}"
    return "valid"


def test_the_release_validates_under_both():
    assert outcome(CheckCellMetadata, release()) == outcome(NbgraderCheck, release()) == "valid"


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_notebook_fails_as_under_nbgrader(breakage):
    nb = release()
    BREAKAGES[breakage](nb)
    ours, theirs = outcome(CheckCellMetadata, nb), outcome(NbgraderCheck, nb)
    assert theirs != "valid", f"{breakage}: nbgrader's own check let it through, so this case proves nothing"
    assert ours == theirs, f"{breakage}: ours said {ours!r}, nbgrader's {theirs!r}"


def test_both_chains_use_it():
    for chain in (pipeline.SANITIZE, pipeline.AUTOGRADE):
        assert "grading.cell_metadata.CheckCellMetadata" in chain
        assert "nbgrader.preprocessors.CheckCellMetadata" not in chain
