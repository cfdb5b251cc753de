"""dropout_layer: correct masks, the mistakes of the keep rate, the scale, the mask and the input, the
library's own dropout."""
from .kit import CORRECT, MISTAKE, POLICY

ORDER = 60


def variants(kit):
    add, edit, drop_mask, drop_fn = kit.add, kit.edit, kit.drop_mask, kit.drop_fn
    stats_and_mask = {"dropout_stats", "dropout_mask"}
    add("dropout_bernoulli", CORRECT, drop_mask("torch.bernoulli(torch.full_like(X, 1 - dropout))"))
    add("dropout_rand_like", CORRECT, drop_mask("(torch.rand_like(X) > dropout).float()"))
    add("dropout_bool_mask", CORRECT, drop_mask("torch.rand(X.shape, device=device) >= dropout"))
    add("dropout_where", CORRECT, drop_fn(
        "    if dropout == 1:\n        return torch.zeros_like(X)\n"
        "    keep = torch.rand_like(X) < 1 - dropout\n    return torch.where(keep, X / (1 - dropout), torch.zeros_like(X))\n"))
    add("dropout_keeps_with_p", MISTAKE, drop_mask("(torch.rand(X.shape) < dropout).float()"), {"dropout_stats"},
        message="保留率", mistakes={"dropout_keeps_with_p", "dropout_shape"})
    add("dropout_no_rescale", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "return mask * X / (1.0 - dropout)", "return mask * X")}, stats_and_mask, message="1/(1-p)",
        mistakes={"dropout_no_rescale", "dropout_shape"})
    add("dropout_rescale_by_p", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "return mask * X / (1.0 - dropout)", "return mask * X / dropout")}, stats_and_mask,
        mistakes={"dropout_rescale_by_p", "dropout_shape"})
    add("dropout_one_mask_per_row", MISTAKE, drop_mask("(torch.rand(X.shape[0], 1) > dropout).float()"),
        {"dropout_mask"}, mistakes={"dropout_keep_rate", "dropout_wrong_shape"})
    add("dropout_changes_x_in_place", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "return mask * X / (1.0 - dropout)", "X *= mask\n    return X / (1.0 - dropout)")},
        stats_and_mask, message="修改了输入", mistakes={"dropout_modifies_input"})
    add("dropout_same_mask_every_call", MISTAKE, drop_mask(
        "(torch.rand(X.shape, generator=torch.Generator().manual_seed(0)) > dropout).float()"), {"dropout_mask"},
        message="相同的掩码", mistakes={"dropout_same_mask"})
    add("dropout_p0_returns_zeros", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "        return X\n", "        return torch.zeros_like(X)\n")}, {"dropout_edges"},
        mistakes={"dropout_p0_changes_x"})
    add("dropout_randn", MISTAKE, drop_mask("(torch.randn(X.shape) > dropout).float()"), stats_and_mask,
        mistakes={"dropout_keep_rate", "dropout_shape"})
    add("dropout_functional", POLICY, drop_fn("    return torch.nn.functional.dropout(X, dropout)\n"),
        {"dropout_edges", "dropout_stats", "dropout_mask"}, message="评分时不计分", mistakes={"dropout_op_not_allowed"})
    add("dropout_nn_dropout", POLICY, drop_fn("    return nn.Dropout(dropout)(X)\n"),
        {"dropout_edges", "dropout_stats", "dropout_mask"}, mistakes={"dropout_op_not_allowed"})
    add("dropout_no_p1_case", MISTAKE, {"dropout_impl": edit(
        "dropout_impl", "    if dropout == 1:\n        return torch.zeros_like(X, device=device)\n", "")}, {"dropout_edges"},
        message="全 0", mistakes={"dropout_p1_keeps"})
    add("dropout_one_mask_per_feature", MISTAKE, drop_mask("(torch.rand(X.shape[-1], device=device) > dropout).to(X.dtype)"),
        {"dropout_mask"}, message="逐元素", mistakes={"dropout_keep_rate", "dropout_mask_not_elementwise"})
