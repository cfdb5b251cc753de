"""grading/rules/inputs.py: the tensor an input spec describes, the same wherever it is built."""
import pytest
import torch

from grading.rules.inputs import materialize


def test_the_same_spec_gives_the_same_tensor_and_another_seed_another():
    spec = {"kind": "randn", "shape": [3, 4], "seed": 7, "dtype": "float64"}
    a, b = materialize(spec), materialize(dict(spec))
    assert a.dtype == torch.float64 and a.shape == (3, 4) and torch.equal(a, b)
    assert not torch.equal(a, materialize(dict(spec, seed=8)))


def test_an_activation_input_holds_its_edges_and_stays_in_range():
    x = materialize({"kind": "activation", "lo": -5, "hi": 5, "n": 3000, "seed": 1})
    assert x.shape == (3000,) and x[:4].tolist() == [0.0, -0.0, 1.0, -1.0]
    assert float(x.min()) >= -5 and float(x.max()) <= 5


def test_rand_plus_one_has_no_zero_and_values_are_kept():
    assert float(materialize({"kind": "rand_plus_one", "shape": [100]}).min()) >= 1.0
    assert materialize({"kind": "values", "shape": [2, 1], "values": [1.5, 2.5]}).tolist() == [[1.5], [2.5]]


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown input kind"):
        materialize({"kind": "zeros", "shape": [1]})
