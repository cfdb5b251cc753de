"""Sigmoid: `MySigmoid.__call__` (f(x) = 1 / (1 + e^-x)) and `MySigmoid.derivative` (f(x)(1 - f(x)))."""
import torch

from grading.parts.activation import activation_part


def _derivative(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


PART = activation_part(
    name="sigmoid", order=2, title="Sigmoid", cls="MySigmoid",
    reference=torch.sigmoid, derivative=_derivative, at_zero=0.25,
    points=(4, 4),
    sample_mistake=("return s * (1 - s)", "return s * (1 + s)"), sample_fails=("sigmoid_derivative",),
    done_in_partial_sample=True,
)
