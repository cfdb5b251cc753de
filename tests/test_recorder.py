"""grading/rules/recorder.py: what a call of student code ran, recorded outside its reach."""
import ast
import importlib.util
import shutil

import torch

from course import ROOT
from grading.rules.recorder import ENGINE, Recorder


def test_the_ops_and_functions_of_each_call_are_recorded_apart():
    with Recorder("t") as rec:
        first = rec.call(lambda x: torch.relu(x) * 2, [torch.randn(4)])
        second = rec.call(lambda x: x.clamp(min=0), [torch.randn(4)])
    assert second["error"] is None and second["funcs"].get("clamp") == 1
    assert first["error"] is None and first["funcs"].get("relu") == 1
    assert "relu" in rec.ops(0) and "mul" in rec.ops(0) and "relu" not in rec.ops(1)
    assert any(op.startswith("clamp") for op in rec.ops(1))


def test_autograd_inside_a_call_is_seen_as_the_engine():
    def derivative(x):
        x = x.clone().requires_grad_(True)
        torch.sigmoid(x).sum().backward()
        return x.grad

    with Recorder() as rec:
        rec.call(derivative, [torch.randn(3)])
    assert ENGINE in rec.ops(0)


def test_an_error_and_a_warning_are_data():
    def broken(x):
        import warnings
        warnings.warn("careful")
        raise ValueError("no")

    with Recorder() as rec:
        result = rec.call(broken, [torch.zeros(1)])
    assert result["error"] == {"type": "ValueError", "message": "no"} and "careful" in result["warnings"][0]


def test_recorder_and_inputs_load_from_their_files_alone(tmp_path):
    """The probe loads them from its private copy in the sandbox (grading/lab2_probe.py: RULES), where nothing of
    the course can be imported: they import only torch and the standard library, and load from a lone copy."""
    from grading import lab2_probe
    for name in lab2_probe.RULES:
        path = tmp_path / f"{name}.py"
        shutil.copyfile(ROOT / "grading" / "rules" / f"{name}.py", path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {"." * n.level + (n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert {m.split(".")[0] for m in imported} <= {"torch", "warnings"}, f"{name}.py imports {imported}"
        spec = importlib.util.spec_from_file_location(f"lone_{name}", path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
