"""ReLU: `MyReLU.__call__` (f(x) = max(0, x)) and `MyReLU.derivative` (1 for x > 0, else 0)."""
import torch

from grading.parts.activation import activation_part

PART = activation_part(
    name="relu", order=1, title="ReLU", cls="MyReLU",
    reference=torch.relu,
    derivative=lambda x: (x > 0).double(),
    at_zero=0.0, zero_hint="提示:ReLU 的导数在 x > 0 时为 1,x ≤ 0 时为 0。",
    overflows=False,  # no e^x: nothing to hint about beyond the graded range
    points=(4, 4),
    sample_mistake=("torch.where(x > 0,", "torch.where(x >= 0,"), sample_fails=("relu_derivative",),
    done_in_partial_sample=True,
)
