"""Regenerate the student release from the instructor's master, and the root copy from the release.

    python tools/release.py               # source/ -> release/ (nbgrader generate_assignment) -> ./lab2_regularization.ipynb
    python tools/release.py --check       # regenerate in a temporary copy; exit 1 if the committed files differ
    python tools/release.py --new DIR     # a new course in DIR, made from this one (tools/demo.sh's scratch course)

All three work on the course in the current folder, or on --course DIR.
source/lab2_regularization/lab2_regularization.ipynb is the one file to edit; the other two are generated.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import course


def check(folder):
    """Names of the course's committed generated files that differ from a fresh generation."""
    folder = Path(folder).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = course.release_nb(course.copy_course(Path(tmp), src=folder)).read_bytes()
    committed = {"release/" + course.ASSIGNMENT + "/" + course.NOTEBOOK: course.release_nb(folder),
                 course.NOTEBOOK: folder / course.NOTEBOOK}
    return [name for name, path in committed.items() if not path.exists() or path.read_bytes() != fresh]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    parser.add_argument("--check", action="store_true", help="only compare, change nothing")
    parser.add_argument("--new", metavar="DIR", help="make a new course in DIR (its config, grading/, source/ and "
                                                     "release) instead of regenerating this one's release")
    args = parser.parse_args()
    folder = Path(args.course).resolve()
    if not course.source_nb(folder).exists():
        sys.exit(f"{folder} is not a course folder: it has no {course.source_nb(folder).relative_to(folder)}")
    if args.new:
        print(f"new course in {course.copy_course(Path(args.new), src=folder)}")
    elif args.check:
        stale = check(folder)
        if stale:
            sys.exit(f"out of date with source/: {', '.join(stale)} -- run: python tools/release.py")
        print("release/ and the root copy match source/")
    else:
        release = course.generate_release(folder)
        print(f"wrote {release.relative_to(folder)} and {course.NOTEBOOK}")


if __name__ == "__main__":
    main()
