"""An instructor adds a part with the README's commands, in a scratch clone of this checkout that shares this venv
(installed from this checkout: the clone's tools must run the clone's code, tests/test_checkouts.py): the checks that
read the declarations pass there, and autograde gives the new part its points (tools/check_part.py grades its
variants: the correct ones keep every point, the new part's included; each mistake loses it, with the id it claims)."""
import os
import subprocess
import sys

import pytest

from course import ROOT
from test_checkouts import scratch_checkout

pytestmark = pytest.mark.slow  # grades the new part's 6 variants with the real nbgrader (about a minute)

NAME = "twice_x"  # with an underscore: a grade id's part is the declared name it starts with


def run(args, cwd, env):
    result = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def test_a_part_added_by_the_command_passes_its_checks_and_earns_its_points(tmp_path):
    clone = scratch_checkout(tmp_path / "clone", [])
    before = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    env = dict(os.environ, PYTEST_ADDOPTS=f"--basetemp={tmp_path / 'pytest'}")  # the clone's pytest: its own folders
    added = run(["tools/new_part.py", NAME, "--points", "2", "--title", "两倍"], clone, env)
    assert "the course's total is now 102 points" in added, added
    checked = run(["tools/check_part.py", NAME], clone, env)
    assert f"6 variants of {NAME}" in checked and f"passed: {NAME}" in checked, checked
    for claimed in ("value_mismatch", "modifies_input", "device_not_kept", "dtype_not_kept"):
        assert f"{NAME}_{claimed}" in checked and "NO VARIANT" not in checked, checked
    assert f"| `{NAME}` | `{NAME}` | `{NAME}_value`: 2 | 2 |" in (clone / "README.md").read_text(encoding="utf-8")
    assert subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout == before
