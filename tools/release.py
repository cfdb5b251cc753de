"""Regenerate the student release from the instructor's master, and the root copy from the release.

    python tools/release.py          # source/ -> release/ (nbgrader generate_assignment) -> ./lab2_regularization.ipynb
    python tools/release.py --check  # regenerate in a temporary copy; exit 1 if the committed files differ
    python tools/release.py --course DIR  # a new course in DIR (tools/demo.sh's scratch course)

source/lab2_regularization/lab2_regularization.ipynb is the one file to edit; the other two are generated.
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ASSIGNMENT = "lab2_regularization"
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def generate(course: Path) -> Path:
    """Run nbgrader generate_assignment in `course` and copy the release to its root; return the release."""
    subprocess.run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN"],
                   cwd=course, check=True)
    release = course / "release" / ASSIGNMENT / NOTEBOOK
    shutil.copyfile(release, course / NOTEBOOK)
    return release


def copy_course(dest: Path, data: Path = None) -> Path:
    """A fresh course in `dest`: the config, grading/ and source/ (and a data folder), release generated."""
    for name in ("nbgrader_config.py", "grading", "source"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copyfile)(src, dest / name)
    if data is not None:
        shutil.copytree(data, dest / "data")
    generate(dest)
    return dest


def check() -> list:
    """Names of the committed generated files that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = (copy_course(Path(tmp)) / "release" / ASSIGNMENT / NOTEBOOK).read_bytes()
    committed = {f"release/{ASSIGNMENT}/{NOTEBOOK}": ROOT / "release" / ASSIGNMENT / NOTEBOOK, NOTEBOOK: ROOT / NOTEBOOK}
    return [name for name, path in committed.items() if not path.exists() or path.read_bytes() != fresh]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare, change nothing")
    parser.add_argument("--course", help="make a new course in this folder (config, grading/, source/, the release) "
                                         "instead of regenerating this one's release")
    args = parser.parse_args()
    if args.course:
        print(f"new course in {copy_course(Path(args.course))}")
    elif args.check:
        stale = check()
        if stale:
            sys.exit(f"out of date with source/: {', '.join(stale)} -- run: python tools/release.py")
        print("release/ and the root copy match source/")
    else:
        print(f"wrote {generate(ROOT).relative_to(ROOT)} and {NOTEBOOK}")


if __name__ == "__main__":
    main()
