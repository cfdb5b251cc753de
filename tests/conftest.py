"""Shared fixtures: an MNIST-format data folder, a temporary nbgrader course, the graded samples."""
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "grading"))

import prepare_data  # noqa: E402
import release  # noqa: E402
import submissions  # noqa: E402

ASSIGNMENT = "lab2_regularization"
SOURCE_NB = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE_NB = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def nbgrader(course, *args, check=True):
    """Run the real nbgrader CLI in `course`."""
    result = subprocess.run(["nbgrader", *args], cwd=course, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def source_nb():
    return nbformat.read(str(SOURCE_NB), as_version=4)


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory):
    """A data folder with MNIST/raw/ that torchvision's MNIST class reads: real digits from
    ../shared/mnist when it exists, a synthetic stand-in otherwise."""
    data = tmp_path_factory.mktemp("data")
    print(prepare_data.build_mnist_folder(data))
    return data


def make_course(path, mnist_dir):
    """A fresh course folder: config, grading helpers, source, data; release generated."""
    return release.copy_course(path, mnist_dir)


@pytest.fixture(scope="session")
def course(tmp_path_factory, mnist_dir):
    return make_course(tmp_path_factory.mktemp("course"), mnist_dir)


def autograde(course):
    """Autograde everything in course/submitted; return the seconds it took."""
    start = time.time()
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return time.time() - start


@pytest.fixture(scope="session")
def graded_samples(course):
    """The sample submissions of tools/submissions.py, autograded once for the whole session."""
    expected = submissions.write_samples(course)
    seconds = autograde(course)
    print(f"\nautograde of {len(expected)} sample submissions: {seconds:.1f} s "
          f"({seconds / len(expected):.1f} s per submission)")
    return expected
