"""Every mistake id a test declares is claimed by some variant of the corpus (tests/corpus/: Variant.mistakes), and
every claim is an id that the variant's failing cells declare: in seconds, without grading. (tests/test_corpus.py
grades the corpus and checks that the grader gives each variant the ids it claims.)"""
from corpus import corpus

from conftest import SOURCE_NB
from course import read
from grading import parts

VARIANTS = corpus(read(SOURCE_NB))


def where_to_add(ids):
    """The corpus module a variant that reaches one of `ids` goes into: the first one's part's."""
    name = parts.part_name(sorted(ids)[0]) or parts.NAMES[0]
    return f"tests/corpus/{name}.py"


def test_every_claim_is_an_id_the_tests_it_may_fail_declare():
    """A variant's claims are ids of the parts its mistake is in (the parts of its must_fail), or of any part for a
    trick that may fail anywhere; a correct variant claims nothing."""
    wrong = {}
    for variant in VARIANTS:
        tests = parts.TESTS if variant.may_fail_anywhere else [t.grade_id for p in variant.parts for t in
                                                                parts.BY_NAME[p].tests if p in parts.BY_NAME]
        declared = set().union(*(parts.MISTAKES[gid] for gid in tests)) if tests else set()
        if variant.mistakes - declared:
            wrong[variant.name] = sorted(variant.mistakes - declared)
    assert not wrong, ("variants that claim ids no test of their parts declares: "
                       f"{wrong} -- claim only what the grader gives them (grading/parts/: Test.mistakes)")


def test_every_declared_mistake_id_is_claimed_by_a_variant():
    """A declaration shared by every part (<part>_not_implemented, the allowlists' ids, ...) is claimed when one of
    the parts that share it has a variant that claims it."""
    claimed = set().union(*(v.mistakes for v in VARIANTS))
    unclaimed = {where: ids for where, ids in parts.declarations().items() if not ids & claimed}
    advice = [f"{where} ({', '.join(sorted(ids))}): add to {where_to_add(ids)} a variant that makes this mistake, "
              f"kit.add(name, MISTAKE, answers, must_fail, mistakes={{{sorted(ids)[0]!r}}}), and grade it with "
              f"python tools/check_part.py {parts.part_name(sorted(ids)[0]) or parts.NAMES[0]}"
              for where, ids in sorted(unclaimed.items())]
    assert not unclaimed, (f"{len(unclaimed)} declared mistake ids no variant of the corpus claims: " + "; ".join(advice[:5])
                           + (f"; and {len(advice) - 5} more: {', '.join(sorted(unclaimed)[5:])}" if len(advice) > 5 else ""))
