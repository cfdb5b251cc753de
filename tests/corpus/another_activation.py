"""Write it yourself, judged by what the code does: a library activation used for another activation."""
from .kit import POLICY, SIGMOID_DERIVATIVE

ORDER = 110


def variants(kit):
    add, sig, tanh = kit.add, kit.sig, kit.tanh
    same = SIGMOID_DERIVATIVE
    fam = "another activation's library op"
    add("sigmoid_via_torch_tanh", POLICY, sig("return 0.5 * (1 + torch.tanh(x / 2))", same), {"sigmoid_value"},
        message="torch.tanh", family=fam, mistakes={"sigmoid_op_not_allowed"})
    add("tanh_via_torch_sigmoid", POLICY, tanh("return 2 * torch.sigmoid(2 * x) - 1", "return 1 - self(x) ** 2"),
        {"tanh_value"}, message="torch.sigmoid", family=fam, mistakes={"tanh_op_not_allowed"})
    add("tanh_via_special_expit", POLICY, tanh("return 2 * torch.special.expit(2 * x) - 1", "return 1 - self(x) ** 2"),
        {"tanh_value"}, family=fam, mistakes={"tanh_op_not_allowed"})
    add("sigmoid_derivative_via_tanh", POLICY, sig("return 1 / (1 + torch.exp(-x))",
                                                   "return (1 - torch.tanh(x / 2) ** 2) / 4"),
        {"sigmoid_derivative"}, message="torch.tanh", family=fam, mistakes={"sigmoid_op_not_allowed"})
