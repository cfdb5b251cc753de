"""Regenerate the student release from the instructor's master, and the root copy from the release.

    python tools/release.py               # source/ -> release/ (nbgrader generate_assignment) -> ./lab2_regularization.ipynb
    python tools/release.py --check       # regenerate in a temporary copy; exit 1 if the committed files differ
    python tools/release.py --course DIR  # a new course in DIR (tools/demo.sh's scratch course)

source/lab2_regularization/lab2_regularization.ipynb is the one file to edit; the other two are generated.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import course


def check():
    """Names of the committed generated files that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = course.release_nb(course.copy_course(Path(tmp))).read_bytes()
    committed = {"release/" + course.ASSIGNMENT + "/" + course.NOTEBOOK: course.release_nb(),
                 course.NOTEBOOK: course.ROOT / course.NOTEBOOK}
    return [name for name, path in committed.items() if not path.exists() or path.read_bytes() != fresh]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare, change nothing")
    parser.add_argument("--course", help="make a new course in this folder (config, grading/, source/, the release) "
                                         "instead of regenerating this one's release")
    args = parser.parse_args()
    if args.course:
        print(f"new course in {course.copy_course(Path(args.course))}")
    elif args.check:
        stale = check()
        if stale:
            sys.exit(f"out of date with source/: {', '.join(stale)} -- run: python tools/release.py")
        print("release/ and the root copy match source/")
    else:
        release = course.generate_release(course.ROOT)
        print(f"wrote {release.relative_to(course.ROOT)} and {course.NOTEBOOK}")


if __name__ == "__main__":
    main()
