"""Sigmoid (MySigmoid): correct forms, mistakes, the library's own sigmoid, autograd in its derivative."""
from .kit import CORRECT, MISTAKE, POLICY

ORDER = 20


def variants(kit):
    add, edit, sig = kit.add, kit.edit, kit.sig
    add("sigmoid_exp_ratio", CORRECT, sig("return torch.exp(x) / (1 + torch.exp(x))",
                                          "return torch.exp(-x) / (1 + torch.exp(-x)) ** 2"))
    add("sigmoid_stable_where", CORRECT,
        sig("return torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))",
            "s = self(x)\n        return s - s * s"))
    add("sigmoid_reciprocal", CORRECT, sig("return torch.reciprocal(1 + torch.exp(-x))",
                                           "return self(x) * self(-x)"))
    add("sigmoid_derivative_plus", MISTAKE, {"sigmoid_impl": edit("sigmoid_impl", "return s * (1 - s)",
                                                                   "return s * (1 + s)")}, {"sigmoid_derivative"},
        mistakes={"sigmoid_derivative_at_zero"})
    add("sigmoid_sign_error", MISTAKE, sig("return 1 / (1 + torch.exp(x))", "s = self(x)\n        return s * (1 - s)"),
        {"sigmoid_value"}, mistakes={"sigmoid_value_mismatch"})
    add("sigmoid_derivative_of_x", MISTAKE, sig("return 1 / (1 + torch.exp(-x))", "return x * (1 - x)"),
        {"sigmoid_derivative"}, mistakes={"sigmoid_derivative_at_zero"})
    add("sigmoid_torch_sigmoid", POLICY, sig("return torch.sigmoid(x)", "s = self(x)\n        return s * (1 - s)"),
        {"sigmoid_value"}, message="评分时不计分", mistakes={"sigmoid_op_not_allowed"})
    add("sigmoid_special_expit", POLICY, sig("return torch.special.expit(x)", "s = self(x)\n        return s * (1 - s)"),
        {"sigmoid_value"}, mistakes={"sigmoid_op_not_allowed"})
    add("sigmoid_autograd_derivative", POLICY,
        sig("return 1 / (1 + torch.exp(-x))",
            "x = x.detach().clone().requires_grad_(True)\n        y = self(x)\n"
            "        return torch.autograd.grad(y.sum(), x)[0]"),
        {"sigmoid_derivative"}, message="自动求导", mistakes={"sigmoid_autograd"})
    add("sigmoid_init_takes_the_input", MISTAKE, {"sigmoid_impl": (
        "class MySigmoid:\n    def __init__(self, x):\n        self.x = x\n\n"
        "    def __call__(self, x):\n        return 1 / (1 + torch.exp(-x))\n\n"
        "    def derivative(self, x):\n        s = self(x)\n        return s * (1 - s)\n")},
        {"sigmoid_value", "sigmoid_derivative"}, message="无法创建",
        mistakes={"sigmoid_construct_error"})  # forward is graded with the grader's activation
