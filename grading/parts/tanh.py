"""Tanh: `MyTanh.__call__` (f(x) = (e^x - e^-x) / (e^x + e^-x)) and `MyTanh.derivative` (1 - f(x)²)."""
import torch

from grading.parts.activation import activation_part

PART = activation_part(
    name="tanh", order=3, title="Tanh", cls="MyTanh",
    reference=torch.tanh, derivative=lambda x: 1 - torch.tanh(x) ** 2, at_zero=1.0,
    points=(4, 4),
    sample_mistake=("return 1 - self(x) ** 2", "return 1 - self(x)"), sample_fails=("tanh_derivative",),
)
