"""Library functions that were on no list: each policy variant loses its own part and only that part."""
from .kit import POLICY, SIGMOID_DERIVATIVE

ORDER = 120


def variants(kit):
    add, relu, sig, l2, drop_fn = kit.add, kit.relu, kit.sig, kit.l2, kit.drop_fn
    same = SIGMOID_DERIVATIVE
    fam = "library functions outside the old lists"
    add("relu_hardtanh", POLICY, relu("return torch.nn.functional.hardtanh(x, 0.0, float('inf'))",
                                      "return (x > 0).to(x.dtype)"), {"relu_value"}, message="hardtanh", family=fam,
        mistakes={"relu_op_not_allowed"})
    add("relu_threshold", POLICY, relu("return torch.nn.functional.threshold(x, 0.0, 0.0)", "return (x > 0).to(x.dtype)"),
        {"relu_value"}, family=fam, mistakes={"relu_op_not_allowed"})
    add("sigmoid_softmax_pair", POLICY, sig("return torch.softmax(torch.stack([x, torch.zeros_like(x)]), dim=0)[0]",
                                            same), {"sigmoid_value"}, message="softmax", family=fam,
        mistakes={"sigmoid_op_not_allowed"})
    add("sigmoid_exp_logsigmoid", POLICY, sig("return torch.exp(torch.nn.functional.logsigmoid(x))", same),
        {"sigmoid_value"}, family=fam, mistakes={"sigmoid_op_not_allowed"})
    add("dropout_torch_dropout", POLICY, drop_fn("    return torch.dropout(X, dropout, True)\n"),
        {"dropout_edges", "dropout_stats", "dropout_mask"}, family=fam, mistakes={"dropout_op_not_allowed"})
    add("l2_mse_loss", POLICY, l2("torch.nn.functional.mse_loss(w, torch.zeros_like(w), reduction='sum') / 2"),
        {"l2_value", "l2_grad"}, message="mse_loss", family=fam, mistakes={"l2_op_not_allowed"})
    add("sigmoid_by_methodcaller", POLICY, sig("import operator\n        return operator.methodcaller('sigmoid')(x)", same),
        {"sigmoid_value", "sigmoid_derivative"}, message="torch.sigmoid", family=fam, mistakes={"sigmoid_op_not_allowed"})
    add("relu_torch_ops_aten", POLICY, relu("return torch.ops.aten.relu(x)", "return (x > 0).to(x.dtype)"),
        {"relu_value"}, message="torch.relu", family=fam, mistakes={"relu_op_not_allowed"})
