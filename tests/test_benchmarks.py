"""The benchmark scripts still run: benchmarks/whole_lab.py executes the master notebook's code, every
test cell included (hidden ones with the grader loaded first), in one process at the small scale, and
stops at the first cell that fails, naming it."""
import json
import subprocess
import sys

import pytest

from conftest import SOURCE_NB
from course import ROOT

pytestmark = pytest.mark.slow  # runs the whole master, twice

WHOLE_LAB = ROOT / "benchmarks" / "whole_lab.py"


def whole_lab(notebook, mnist_dir, tmp_path):
    log = tmp_path / "whole_lab.log"
    result = subprocess.run([sys.executable, str(WHOLE_LAB), "--small", "--data", str(mnist_dir), "--log", str(log),
                             "--notebook", str(notebook)], capture_output=True, text=True, timeout=600)
    return result, log.read_text(encoding="utf-8")


def test_whole_lab_runs_every_cell_of_the_master(mnist_dir, tmp_path):
    result, log = whole_lab(SOURCE_NB, mnist_dir, tmp_path)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "whole lab:" in result.stdout and "small scale" in result.stdout
    code_cells = [c for c in json.loads(SOURCE_NB.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    assert log.count("### cell ") == len(code_cells)
    assert "MyReLU.__call__ [float32" in log, "the hidden checks did not run"


def test_whole_lab_stops_at_a_failing_hidden_test(mnist_dir, tmp_path):
    nb = json.loads(SOURCE_NB.read_text(encoding="utf-8"))
    [cell] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "relu_impl"]
    source = "".join(cell["source"])
    cell["source"] = source.replace("torch.maximum(x, torch.zeros_like(x))", "torch.relu(x)")
    assert cell["source"] != source
    broken = tmp_path / "broken.ipynb"
    broken.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    result, log = whole_lab(broken, mnist_dir, tmp_path)
    assert result.returncode == 1
    assert "(relu_value) failed" in result.stderr and "AssertionError" in result.stderr, result.stderr
    assert "Traceback" in log
