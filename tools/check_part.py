"""Check one part after an edit, in about a minute: the master and its declaration agree, the release is regenerated,
and only that part's corpus variants are graded with the real nbgrader.

    python tools/check_part.py NAME [--no-grading]

1. `python tools/release.py`: the master's rules cell and points table, README's points, the release;
2. the fast checks that read the declarations (pytest): the master against grading/parts/ (tests/test_metadata.py), the
   points (tests/test_points.py), the meta-device case (tests/test_devices.py), the mistake ids in the judging code
   (tests/test_mistake_ids.py), every declared id claimed by a variant (tests/test_corpus_claims.py), the master's
   solutions through every hidden test (tests/test_grader.py);
3. the variants that rewrite NAME's answer cell, autograded in one batch (tests/test_corpus.py with
   $LAB2_CORPUS_PART=NAME): each keeps or loses the points it should, with the ids it claims, and every id the grader
   gives is declared and every one NAME's tests declare is given to one of them.

It prints, before grading, each id NAME's tests declare with the variants that claim it; pytest's report says what
failed and what to change. Exit status: pytest's (0 when everything passed).
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import os
import subprocess
import sys
import time

import course
from grading import parts
from tools import release

FAST = ("tests/test_metadata.py", "tests/test_points.py", "tests/test_devices.py", "tests/test_mistake_ids.py",
        "tests/test_corpus_claims.py", "tests/test_grader.py::test_the_masters_solutions_pass_every_hidden_test")
GRADED = ("tests/test_corpus.py::test_variant",
          "tests/test_corpus.py::test_every_mistake_id_is_declared_and_every_declaration_reached")
PART_VARIABLE = "LAB2_CORPUS_PART"  # read by tests/test_corpus.py: grade only this part's variants


def claims(name):
    """mistake id -> the variants that claim it, for every id NAME's tests declare themselves."""
    sys.path.insert(0, str(course.ROOT / "tests"))  # the corpus is the tests' (tests/corpus/)
    from corpus import corpus
    variants = corpus(course.read(course.source_nb()), part=name)
    own = sorted(set().union(*parts.declarations(name).values()))
    return {mistake: [v.name for v in variants if mistake in v.mistakes] for mistake in own}, variants


def pytest(paths, env=None):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *paths],
                          cwd=course.ROOT, env=dict(os.environ, **(env or {}))).returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="the part (grading/parts/NAME.py)")
    parser.add_argument("--no-grading", action="store_true", help="steps 1 and 2 only (seconds)")
    args = parser.parse_args()
    if args.name not in parts.BY_NAME:
        sys.exit(f"no part {args.name!r} is declared (grading/parts/): the parts are {', '.join(parts.NAMES)}")
    start = time.time()
    print(f"1. the release, from {course.source_nb().relative_to(course.ROOT)}")
    release.regenerate(course.ROOT)
    print(f"2. the master against the declarations ({time.time() - start:.0f} s)")
    if pytest(FAST):
        sys.exit(f"fix what failed above, then run python tools/check_part.py {args.name} again")
    claimed, variants = claims(args.name)
    print(f"3. {len(variants)} variants of {args.name} ({time.time() - start:.0f} s); the ids its tests declare, "
          "and the variants that claim them:")
    for mistake, names in claimed.items():
        print(f"   {mistake:40s} {', '.join(names) or 'NO VARIANT: add one to tests/corpus/ (mistakes={...})'}")
    status = 0 if args.no_grading else pytest(GRADED, {PART_VARIABLE: args.name})
    print(f"{'passed' if status == 0 else 'FAILED'}: {args.name}, in {time.time() - start:.0f} s")
    sys.exit(status)


if __name__ == "__main__":
    main()
