"""Round trips out of torch (numpy, .tolist(), math per element): no torch op recorded for the computation."""
from .kit import POLICY, SIGMOID_DERIVATIVE, activation_class

ORDER = 130


def variants(kit):
    add, review, relu, sig, tanh, drop_fn = kit.add, kit.review, kit.relu, kit.sig, kit.tanh, kit.drop_fn
    same = SIGMOID_DERIVATIVE
    fam = "numpy/math round trips"
    add("tanh_numpy_round_trip", POLICY, tanh("return torch.from_numpy(np.tanh(x.detach().numpy()))",
                                              "return 1 - self(x) ** 2"),
        {"tanh_value", "tanh_derivative"}, message=".numpy()", family=fam, mistakes={"tanh_leaves_torch"})
    add("relu_tolist_per_element", POLICY,
        relu("return torch.tensor([max(v, 0.0) for v in x.reshape(-1).tolist()], dtype=x.dtype).reshape(x.shape)",
             "return (x > 0).to(x.dtype)"), {"relu_value"}, message=".tolist()", family=fam, mistakes={"relu_leaves_torch"})
    add("sigmoid_math_exp_per_element", POLICY,
        sig("import math\n        return torch.tensor([1 / (1 + math.exp(-float(v))) for v in x.reshape(-1)],"
            " dtype=x.dtype).reshape(x.shape)", same),
        {"sigmoid_value", "sigmoid_derivative"}, family=fam, mistakes={"sigmoid_leaves_torch"})
    add("dropout_numpy_mask_round_trip", POLICY, drop_fn(
        "    if dropout == 1:\n        return torch.zeros_like(X)\n"
        "    keep = np.random.rand(*X.shape) > dropout\n"
        "    return torch.from_numpy(X.numpy() * keep / (1.0 - dropout)).to(X.dtype)\n"),
        {"dropout_stats", "dropout_mask"}, message=".numpy()", family=fam, mistakes={"dropout_leaves_torch"})
    review("tanh_numpy_fetched_by_built_name", "tanh_impl", activation_class(
        "MyTanh", "f = getattr(np, ''.join(reversed('hnat')))\n        return torch.from_numpy(f(x.numpy()))",
        "return 1 - self(x) ** 2"), family=fam)
