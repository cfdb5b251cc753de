"""ReLU (MyReLU): correct forms, mistakes, the library's own ReLU, autograd in its derivative."""
from .kit import CORRECT, MISTAKE, POLICY

ORDER = 10


def variants(kit):
    add, relu = kit.add, kit.relu
    add("relu_clamp", CORRECT, relu("return x.clamp(min=0)", "return (x > 0).to(x.dtype)"))
    add("relu_where", CORRECT, relu("return torch.where(x > 0, x, torch.zeros_like(x))",
                                    "return torch.where(x > 0, 1.0, 0.0)"))
    add("relu_mask_multiply", CORRECT, relu("return x * (x > 0)", "return (x > 0).float()"))
    add("relu_maximum_scalar", CORRECT, relu("return torch.maximum(x, torch.tensor(0.0))",
                                             "return torch.heaviside(x, torch.zeros_like(x))"))
    add("relu_derivative_one_at_zero", MISTAKE, relu("return x.clamp(min=0)", "return (x >= 0).float()"),
        {"relu_derivative"}, message="x = 0 处应为 0", mistakes={"relu_derivative_at_zero"})
    add("relu_derivative_bool", MISTAKE, relu("return x.clamp(min=0)", "return x > 0"), {"relu_derivative"},
        mistakes={"relu_not_floating"})
    add("relu_derivative_int", MISTAKE, relu("return x.clamp(min=0)", "return (x > 0).long()"), {"relu_derivative"},
        mistakes={"relu_not_floating"})
    add("relu_sign_error", MISTAKE, relu("return torch.minimum(x, torch.zeros_like(x))", "return (x < 0).float()"),
        {"relu_value", "relu_derivative"}, mistakes={"relu_derivative_mismatch", "relu_value_mismatch"})
    add("relu_in_place", MISTAKE, relu("x[x < 0] = 0\n        return x", "return (x > 0).float()"),
        {"relu_value"}, message="修改了输入", mistakes={"relu_modifies_input"})
    add("relu_torch_relu", POLICY, relu("return torch.relu(x)", "return (x > 0).float()"), {"relu_value"},
        message="评分时不计分", mistakes={"relu_op_not_allowed"})
    add("relu_nn_relu", POLICY, relu("return nn.ReLU()(x)", "return (x > 0).float()"), {"relu_value"},
        mistakes={"relu_op_not_allowed"})
    add("relu_functional", POLICY, relu("return torch.nn.functional.relu(x)", "return (x > 0).float()"),
        {"relu_value"}, mistakes={"relu_op_not_allowed"})
    add("relu_tensor_method", POLICY, relu("return x.relu()", "return (x > 0).float()"), {"relu_value"},
        mistakes={"relu_op_not_allowed"})
    add("relu_autograd_derivative", POLICY,
        relu("return x.clamp(min=0)",
             "x = x.detach().clone().requires_grad_(True)\n        self(x).sum().backward()\n        return x.grad"),
        {"relu_derivative"}, message="自动求导", mistakes={"relu_autograd"})
    add("relu_output_detached", MISTAKE, relu("return torch.maximum(x, torch.zeros_like(x)).detach()",
                                              "return (x > 0).to(x.dtype)"), {"relu_value"}, message="计算图",
        mistakes={"relu_cuts_graph"})
