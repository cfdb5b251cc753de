"""The experiments run at the small scale on MNIST-format data read by torchvision, in a real
kernel, and show each lesson in the direction the notebook's prose claims."""
import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

from tools import prepare_data
from course import master_cells, meta, strip_markers, tags


def run_notebook(cells, env, cwd):
    """Execute cells in a fresh kernel; return the executed notebook."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    old = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, allow_errors=True, resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def data_cells():
    """The master's setup and its data loader (imports, scale, data), solutions in."""
    return [nbformat.v4.new_code_cell(strip_markers(c.source)) for c in master_cells(runs=())
            if meta(c).get("grade_id") == "setup" or tags(c) & {"lab2-imports", "lab2-scale", "lab2-data"}]


@pytest.fixture(scope="module")
def lessons(mnist_dir, tmp_path_factory):
    cells = [nbformat.v4.new_code_cell(strip_markers(c.source)) for c in master_cells()]
    report = """
import json
g = gradient_results
print('LESSONS' + json.dumps({
    'grad_first_layer': {a: g[a]['grad_history'][-1][0] for a in g},
    'zero_share': {a: death_results[a]['zero_share'][-1] for a in death_results},
    'dead_share': {a: death_results[a]['dead_share'][-1] for a in death_results},
    'l2': {str(k): v for k, v in l2_results.items()},
    'dropout': {k: v['train_acc'][-1] for k, v in dropout_results.items()},
    'dropout_concise': {k: v['train_acc'][-1] for k, v in dropout_results_concise.items()},
    'small': SMALL_SCALE}))
"""
    nb = run_notebook(cells + [nbformat.v4.new_code_cell(report)],
                      {"LAB2_SCALE": "small", "LAB2_DATA_DIR": str(mnist_dir)}, tmp_path_factory.mktemp("run"))
    errors = [(o.ename, o.evalue) for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for c in nb.cells for o in c.outputs)
    result = json.loads(text.split("LESSONS", 1)[1].splitlines()[0])
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return result


@pytest.mark.slow
def test_runs_at_the_small_scale(lessons):
    assert lessons["small"] is True


@pytest.mark.slow
def test_sigmoid_first_layer_gradient_far_below_relu(lessons):
    grad = lessons["grad_first_layer"]
    assert grad["sigmoid"] < grad["relu"] / 5, grad


@pytest.mark.slow
def test_relu_has_exact_zero_activations_and_tanh_none(lessons):
    assert lessons["zero_share"]["relu"] > 0.2, lessons["zero_share"]
    assert lessons["zero_share"]["tanh"] == 0.0, lessons["zero_share"]
    assert lessons["dead_share"]["tanh"] == 0.0


@pytest.mark.slow
def test_l2_shrinks_the_weights_and_the_test_loss(lessons):
    l2 = lessons["l2"]
    for regularized in ("3", "weight_decay=3"):
        assert l2[regularized]["w_norm"] < l2["0"]["w_norm"] / 2, l2
        assert l2[regularized]["test_loss"] < l2["0"]["test_loss"], l2


@pytest.mark.slow
def test_dropout_lowers_training_accuracy(lessons):
    for key in ("dropout", "dropout_concise"):
        acc = lessons[key]
        assert acc["Dropout"] < acc["No Regularization"], acc


def test_data_loads_through_torchvision(mnist_dir, tmp_path):
    """The notebook's loader reads the MNIST-format folder with torchvision's own MNIST class, normalized as
    ToTensor() + Normalize((0.1307,), (0.3081,)) would, and draws the small scale's subsets."""
    report = ("(x, y), (tx, ty) = get_data(512, 256)\n(full, _), _ = get_data()\n"
              "print('DATA', tuple(x.shape), tuple(y.shape), tuple(tx.shape), float(full.double().mean()))")
    nb = run_notebook(data_cells() + [nbformat.v4.new_code_cell(report)],
                      {"LAB2_SCALE": "small", "LAB2_DATA_DIR": str(mnist_dir)}, tmp_path)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "DATA (512, 1, 28, 28) (512,) (256, 1, 28, 28)" in text, nb.cells[-1].outputs
    raw = prepare_data.read_idx(mnist_dir / "MNIST" / "raw" / "train-images-idx3-ubyte").astype("float64") \
        if (mnist_dir / "MNIST" / "raw" / "train-images-idx3-ubyte").exists() else \
        prepare_data.read_idx(mnist_dir / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").astype("float64")
    expected = (raw.mean() / 255 - 0.1307) / 0.3081
    assert abs(float(text.split()[-1]) - expected) < 1e-4, (text, expected)


def test_missing_data_stops_with_a_clear_message(tmp_path):
    empty = tmp_path / "no-data"
    nb = run_notebook(data_cells() + [nbformat.v4.new_code_cell("get_data()")],
                      {"LAB2_SCALE": "small", "LAB2_DATA_DIR": str(empty)}, tmp_path)
    error = nb.cells[-1].outputs[-1]
    assert error.output_type == "error" and error.ename == "DataMissingError", error
    message = "\n".join(error.traceback)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", str(empty / "MNIST" / "raw")):
        assert name in message
    assert "Traceback" not in message and "File " not in message, message
