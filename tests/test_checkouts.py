"""The code that runs is the code you stand in: two checkouts, one virtual environment (installed from this one, as
tools/env.sh installs it). A tool of the other checkout runs that checkout's course and grading (tools/_checkout.py),
so does the kernel of its nbgrader validate (the IPython startup file); any other script of it refuses in one line
that names both (course.py: script_checkout)."""
import ast
import os
import subprocess
import sys

from conftest import copy_checkout
from course import ROOT
from grading import parts

TOOLS = sorted(p for p in (ROOT / "tools").glob("*.py") if p.name not in ("__init__.py", "_checkout.py"))
PROLOGUE = 'if __name__ == "__main__" and not __package__:  # a script: this checkout\'s course and grading first\n' \
    "    import _checkout"


def scratch_checkout(dest, names):
    """Another checkout in `dest` with this one's files `names` (those git tracks or would: a clone of the working
    tree), for one venv to serve two checkouts."""
    return copy_checkout(dest, names=names)


def test_every_command_puts_its_checkout_first():
    """Each tool that runs as a command imports tools/_checkout.py before anything else."""
    late = []
    for path in TOOLS:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not any(isinstance(n, ast.If) and ast.unparse(n.test) == "__name__ == '__main__'" for n in tree.body):
            continue  # a module the commands import (shards.py, shard_records.py)
        first = ast.get_source_segment(path.read_text(encoding="utf-8"), tree.body[1])
        if not first.startswith(PROLOGUE):
            late.append(path.name)
    assert not late, f"tools that do not import _checkout first (tools/_checkout.py says how): {late}"


def test_a_tool_of_another_checkout_runs_that_checkouts_code(tmp_path):
    other = scratch_checkout(tmp_path / "other", ["course.py", "pyproject.toml", "grading", "tools", "source"])
    declaration = other / "grading" / "parts" / "l2.py"
    declaration.write_text(declaration.read_text(encoding="utf-8").replace('Test("l2_value", 6,', 'Test("l2_value", 7,'),
                           encoding="utf-8")
    result = subprocess.run([sys.executable, str(other / "tools" / "points.py"), "--markdown"], cwd=other,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "`l2_value`: 7" in result.stdout and f"**{parts.TOTAL + 1:g}**" in result.stdout, result.stdout  # its points
    here = subprocess.run([sys.executable, str(ROOT / "tools" / "points.py"), "--markdown"], cwd=other,
                          capture_output=True, text=True)
    assert "`l2_value`: 6" in here.stdout, here.stdout + here.stderr  # this checkout's tool: this checkout's code


def test_another_script_of_another_checkout_refuses_in_one_line(tmp_path):
    other = scratch_checkout(tmp_path / "other", ["course.py", "pyproject.toml"])
    script = other / "benchmarks" / "where.py"
    script.parent.mkdir()
    script.write_text("import course\nprint(course.ROOT)\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=other, capture_output=True, text=True)
    assert result.returncode == 1 and not result.stdout, result.stdout + result.stderr
    installed = subprocess.run([sys.executable, "-c", "import course; print(course.ROOT)"], cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout.strip()  # this checkout, or one
    lines = result.stderr.strip().splitlines()  # whose venv serves this one too (tests/test_new_part.py)
    assert len(lines) == 1 and str(other) in lines[0] and installed in lines[0] and "tools/env.sh" in lines[0], lines


def test_the_validate_kernel_of_another_checkout_judges_with_its_grading(tmp_path):
    """nbgrader validate's kernel loads the probe of the course it runs in (nbgrader_config.py: LAB2_PROBE) and judges
    the hidden tests with that course's grading/lab2_grader.py, not the installed checkout's."""
    other = scratch_checkout(tmp_path / "other", ["course.py", "grading"])
    startup = other / "grading" / "ipython" / "profile_default" / "startup" / "00-lab2-probe.py"
    code = (f"exec(open({str(startup)!r}, encoding='utf-8').read())\nimport sys\n"
            "print(sys.modules[sys.modules['lab2_probe'].LOCAL_JUDGE.__module__].__file__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env=dict(os.environ, LAB2_PROBE=str(other / "grading" / "lab2_probe.py")))
    assert result.stdout.strip() == str(other / "grading" / "lab2_grader.py"), result.stdout + result.stderr
