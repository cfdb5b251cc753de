"""grading/rules/recorder.py: what a call of student code ran, recorded outside its reach."""
import ast
import importlib.util
import shutil
import sys

import pytest
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
        outside = {m.split(".")[0] for m in imported} - {"torch"} - sys.stdlib_module_names
        assert not outside, f"{name}.py imports {sorted(outside)}: only torch and the standard library are in the sandbox"
        spec = importlib.util.spec_from_file_location(f"lone_{name}", path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


TABLE = torch.linspace(-1.0, 1.0, 1001) ** 3  # built before the call: state from outside


def test_a_tensor_the_call_did_not_compute_from_its_inputs_is_named_with_its_size():
    cache, results = {}, []

    def from_table(x):
        return TABLE[((x.clamp(-1, 1) + 1) * 500).long()]

    def cached(x):
        return cache.setdefault(x.numel(), x * 2)

    def stored(x):
        results.append(x * 2)
        return results[0]

    with Recorder() as rec:
        table = rec.call(from_table, [torch.randn(50)])
        first, second = rec.call(cached, [torch.randn(50)]), rec.call(cached, [torch.randn(50)])
        rec.call(stored, [torch.randn(50)])
        again = rec.call(stored, [torch.randn(50)])
    assert table["outside"] == [{"shape": [1001], "dtype": "float32", "numel": 1001}]
    assert first["outside"] == [] and second["outside"] == [{"shape": [50], "dtype": "float32", "numel": 50}]
    assert again["outside"] == [{"shape": [50], "dtype": "float32", "numel": 50}]


def test_constants_views_in_place_ops_and_the_input_itself_are_not_outside_state():
    zero, coefficients = torch.tensor(0.0), torch.arange(16.0)  # a scalar and a few elements: constants
    honest = [lambda x: torch.where(x > 0, x, 0.0), lambda x: x.masked_fill(x < 0, 0.0), lambda x: x,
              lambda x: x.data.clamp(min=0), lambda x: torch.maximum(x, torch.tensor(1.0, device=x.device)),
              lambda x: torch.maximum(x.reshape(2, 25), zero).reshape(-1), lambda x: x[:16] * coefficients,
              lambda x: (lambda out: (out.__setitem__(out < 0, 0), out.mul_(2))[1])(x.clone())]
    with Recorder() as rec:
        results = [rec.call(fn, [torch.randn(50)]) for fn in honest]
    assert [r["outside"] for r in results] == [[]] * len(honest), [r["error"] for r in results]


def test_a_whole_cell_is_recorded_as_one_more_call():
    rec = Recorder("cell")
    with rec:
        index = rec.start_cell()
        table = torch.sigmoid(torch.linspace(-1.0, 1.0, 11))  # what a class body could run
        funcs = rec.stop_cell()
    assert table.shape == (11,) and "sigmoid" in rec.ops(index) and funcs.get("sigmoid") == 1


def test_the_ops_of_every_thread_belong_to_the_call_they_ran_during():
    """torch's Python modes see the calling thread only; the profiler's callbacks are global: an op in a thread the
    call started (threading, a pool, _thread, torch.jit.fork) is the call's, an op in a thread outside any call is
    no call's."""
    import _thread
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    def in_thread(x):
        out = []
        t = threading.Thread(target=lambda: out.append(torch.tanh(x)))
        t.start()
        t.join()
        return out[0]

    def in_pool(x):
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: x.relu()).result()

    def low_level(x):
        done = threading.Event()
        _thread.start_new_thread(lambda: (torch.sigmoid(x), done.set()), ())
        done.wait(5)
        return x * 1

    def forked(x):
        return torch.jit.wait(torch.jit.fork(torch.erf, x))

    with Recorder() as rec:
        results = [rec.call(fn, [torch.randn(50)]) for fn in (in_thread, in_pool, low_level, forked)]
        rec.call(lambda x: x * 2, [torch.randn(4)])
        idle = threading.Thread(target=lambda: torch.exp(torch.ones(3)))  # between calls: no call's op
        idle.start()
        idle.join()
        time.sleep(0.01)
        last = rec.call(lambda x: x + 1, [torch.randn(4)])
    assert [r["error"] for r in results] == [None] * 4
    assert "tanh" in rec.ops(0) and "relu" in rec.ops(1) and "sigmoid" in rec.ops(2) and "erf" in rec.ops(3)
    assert "tanh" not in rec.ops(1) and "exp" not in rec.ops(5) and last["error"] is None
    assert results[0]["outside"] == [{"shape": [50], "dtype": "float32", "numel": 50}]  # made in another thread


def test_starting_and_stopping_the_profiler_writes_nothing_to_standard_error(capfd):
    with Recorder() as rec:
        rec.call(lambda x: x * 2, [torch.randn(4)])
    assert capfd.readouterr().err == ""


def test_the_graders_torch_records_everything_and_a_partial_recorder_is_the_advices_alone():
    """requirements.txt's torch has every option the recorder uses (UNAVAILABLE is empty): the grader never records
    less. An older torch (the student's) fills UNAVAILABLE, and there only Recorder(partial=True), the advice's,
    starts (tools/student_envs.py runs the advice on torch 2.1); here an older torch's list is put in by hand."""
    from grading.rules import recorder
    assert recorder.UNAVAILABLE == [] and recorder._ALL_THREADS is not None
    recorder.UNAVAILABLE.append(recorder.OTHER_THREADS)
    try:
        with pytest.raises(RuntimeError, match="torch >= 2.7"):
            Recorder("grader")
        with Recorder("advice", partial=True) as rec:
            rec.call(torch.exp, [torch.zeros(2)])
        assert "exp" in rec.ops(0)
    finally:
        recorder.UNAVAILABLE.remove(recorder.OTHER_THREADS)
