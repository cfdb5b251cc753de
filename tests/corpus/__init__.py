"""The corpus of submissions that proves the hidden tests: generated from the source notebook, one module per part
and per family of tricks (in the spirit of otter's tests/q1.py), each with its `variants(kit)`.

Each variant is the complete solution with one or a few answer cells rewritten: another correct way
to write a part (must keep every point), a mistake students really make (must lose points in its
own part only, with a Chinese message that shows a number), a use of the library's own op (no points
for that part), or a trick against the tests (wrong code must earn nothing).

Adding a family: a module here with `ORDER` (its place in the corpus) and `variants(kit)`, which adds its
variants with `kit.add(...)` / `kit.review(...)` (kit.py: Kit); it is found by itself, as grading/parts/ are.
"""
import importlib
import pkgutil

import nbformat

from tools import submissions
from course import is_test, meta

from .kit import CORRECT, HELD, MISTAKE, POLICY, REVIEW, TAMPER, TRICK, Kit, Variant, activation_class, tests_after

__all__ = ["CORRECT", "HELD", "MISTAKE", "POLICY", "REVIEW", "TAMPER", "TRICK", "Variant", "activation_class",
           "corpus", "families", "submission", "tests_after"]


def families():
    """The modules of this package that write variants, in corpus order."""
    found = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    return sorted((m for m in found if hasattr(m, "variants")), key=lambda m: m.ORDER)


def corpus(source_nb, part=None):
    """Every variant, written from the source notebook; with `part` (a part's name), only those that rewrite its answer
    cell (tools/check_part.py: $LAB2_CORPUS_PART)."""
    kit = Kit(source_nb)
    for module in families():
        module.variants(kit)
    names = [v.name for v in kit.variants]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    if part:
        from grading import parts
        return [v for v in kit.variants if parts.BY_NAME[part].answer in v.answers]
    return kit.variants


def submission(release_nb, source_nb, variant):
    answers = dict(submissions.solutions(source_nb), **variant.answers)
    nb = submissions.fill(release_nb, answers)
    if variant.extra_cell:
        first = next(i for i, c in enumerate(nb.cells) if meta(c).get("solution"))
        nb.cells.insert(first, nbformat.v4.new_code_cell(variant.extra_cell.strip("\n")))
    if variant.tag_tests:
        for cell in nb.cells:
            if is_test(cell):
                cell.metadata["tags"] = ["skip-execution"]
    return nb
