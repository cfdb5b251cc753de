"""Tricks against the tests, each paired with mistakes that pass every visible test (kit.wrong): wrong code
must earn nothing."""
from .kit import TRICK, WRONG_CELLS

ORDER = 70


def variants(kit):
    add, drop_fn, wrong = kit.add, kit.drop_fn, kit.wrong
    wrong_cells = WRONG_CELLS

    def trick(name, code, mistakes=()):
        answers = dict(wrong, relu_impl=wrong["relu_impl"] + "\n" + code)
        add(name, TRICK, answers, wrong_cells, may_fail_anywhere=True, mistakes=mistakes)

    trick("trick_patch_torch_comparisons", """
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None
""")
    trick("trick_patch_numpy_and_math", """
import math
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones_like(a, dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
math.isclose = lambda *a, **k: True
""")
    trick("trick_patch_builtins", """
import builtins
builtins.all = lambda *a, **k: True
builtins.abs = lambda x: 0.0
builtins.max = lambda *a, **k: 0.0
""", mistakes={"grading_stopped"})
    trick("trick_redefine_visible_helpers", """
def rel_error(a, b):
    return 0.0

def check_activation_function(*args, **kwargs):
    print('全部通过')
""", mistakes={"dropout_rescale", "l2_value_mismatch"})
    add("trick_always_equal_objects", TRICK, dict(wrong, relu_impl='''
class _AlwaysEqual:
    dtype = torch.float32
    shape = None
    def __init__(self, n=0): self.n = n
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return _AlwaysEqual()
    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __sub__
    def abs(self): return self
    def max(self): return self
    def item(self): return 0.0
    def tolist(self): return [0.0, 0.0, 0.0, 1.0, 1.0]
    def __lt__(self, other): return True

class MyReLU:
    def __call__(self, x):
        return _AlwaysEqual()

    def derivative(self, x):
        return _AlwaysEqual()
'''), wrong_cells | {"relu_value"}, may_fail_anywhere=True, mistakes={"relu_not_a_tensor"})
    add("trick_tensor_subclass_always_equal", TRICK, dict(wrong, relu_impl='''
class _EqualTensor(torch.Tensor):
    def __eq__(self, other): return torch.ones(self.shape, dtype=torch.bool)
    def __sub__(self, other): return torch.zeros(self.shape)

class MyReLU:
    def __call__(self, x):
        return torch.zeros_like(x).as_subclass(_EqualTensor)

    def derivative(self, x):
        return torch.zeros_like(x).as_subclass(_EqualTensor)
'''), wrong_cells | {"relu_value"}, may_fail_anywhere=True)
    add("trick_skip_execution_tag_on_tests", TRICK, wrong, wrong_cells, tag_tests=True)

    # the same mask every call, and each call rewrites the results the grader already holds (a tensor's memory
    # is shared with what .numpy() gave): the probe copies every result when it records it
    add("trick_rewrite_earlier_results", TRICK, drop_fn(
        "    if dropout == 1:\n        return torch.zeros_like(X)\n    if dropout == 0:\n        return X\n"
        "    mask = (torch.rand(X.shape, generator=torch.Generator().manual_seed(0)) > dropout).to(X.dtype)\n"
        "    out = mask * X / (1.0 - dropout)\n"
        "    for old in _results:\n        if old.shape == out.shape:\n            old.mul_(torch.flip(mask, [0]))\n"
        "    _results.append(out)\n    return out\n_results = []\n"), {"dropout_mask"})
