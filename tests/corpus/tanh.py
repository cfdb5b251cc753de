"""Tanh (MyTanh): correct forms, mistakes, the library's own tanh."""
from .kit import CORRECT, MISTAKE, POLICY

ORDER = 30


def variants(kit):
    add, edit, tanh = kit.add, kit.edit, kit.tanh
    add("tanh_via_sigmoid", CORRECT, tanh("return 2 / (1 + torch.exp(-2 * x)) - 1", "return 1 - self(x) ** 2"))
    add("tanh_exp_minus_2x", CORRECT, tanh("e = torch.exp(-2 * x)\n        return (1 - e) / (1 + e)",
                                           "return 4 / (torch.exp(x) + torch.exp(-x)) ** 2"))
    add("tanh_sinh_cosh", CORRECT, tanh("return torch.sinh(x) / torch.cosh(x)", "return 1 / torch.cosh(x) ** 2"))
    add("tanh_derivative_no_square", MISTAKE, {"tanh_impl": edit("tanh_impl", "return 1 - self(x) ** 2",
                                                                  "return 1 - self(x)")}, {"tanh_derivative"},
        mistakes={"tanh_derivative_mismatch"})
    add("tanh_sign_error", MISTAKE,
        tanh("return (torch.exp(-x) - torch.exp(x)) / (torch.exp(x) + torch.exp(-x))", "return 1 - self(x) ** 2"),
        {"tanh_value"}, mistakes={"tanh_value_mismatch"})
    add("tanh_in_place", MISTAKE,
        tanh("e = x.exp_()\n        return (e - 1 / e) / (e + 1 / e)", "return 1 - self(x) ** 2"),
        {"tanh_value", "tanh_derivative"}, mistakes={"tanh_modifies_input"})
    add("tanh_torch_tanh", POLICY, tanh("return torch.tanh(x)", "return 1 - self(x) ** 2"), {"tanh_value"},
        mistakes={"tanh_op_not_allowed"})
    add("tanh_tensor_method", POLICY, tanh("return x.tanh()", "return 1 - self(x) ** 2"), {"tanh_value"},
        mistakes={"tanh_op_not_allowed"})
    add("tanh_derivative_misspelled", MISTAKE, {"tanh_impl": edit("tanh_impl", "def derivative(self, x)",
                                                                   "def derivate(self, x)")},
        {"tanh_derivative"}, message="缺少 derivative", compares=False, mistakes={"tanh_missing_method"})
