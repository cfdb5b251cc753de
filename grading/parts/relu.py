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
    library="torch.relu / nn.ReLU / F.relu / Tensor.relu",
    forbidden={"relu", "relu_", "threshold", "threshold_", "threshold_backward", "leaky_relu", "leaky_relu_",
               "leaky_relu_backward", "rrelu", "prelu", "_prelu_kernel", "relu6"},
    library_names={"relu", "relu_", "relu6", "ReLU", "ReLU6", "threshold", "threshold_", "Threshold", "leaky_relu",
                   "leaky_relu_", "LeakyReLU", "rrelu", "rrelu_", "RReLU", "prelu", "PReLU", "_prelu_kernel"},
    sample_mistake=("torch.where(x > 0,", "torch.where(x >= 0,"), sample_fails=("relu_derivative",),
    done_in_partial_sample=True,
)
