"""l2_penalty: correct forms and the mistakes of the formula and of the graph."""
from .kit import CORRECT, MISTAKE

ORDER = 50


def variants(kit):
    add, l2 = kit.add, kit.l2
    add("l2_power_sum", CORRECT, l2("(w ** 2).sum() / 2"))
    add("l2_dot", CORRECT, l2("0.5 * torch.dot(w.flatten(), w.flatten())"))
    add("l2_norm_squared", CORRECT, l2("torch.norm(w) ** 2 / 2"))
    add("l2_mul_half", CORRECT, l2("(w * w).sum() * 0.5"))
    add("l2_no_half", MISTAKE, l2("torch.sum(w.pow(2))"), {"l2_value", "l2_grad"}, message="忘了除以 2",
        mistakes={"l2_grad_mismatch", "l2_missing_half"})
    add("l2_norm_not_squared", MISTAKE, l2("torch.norm(w) / 2"), {"l2_value", "l2_grad"},
        mistakes={"l2_grad_mismatch", "l2_norm_not_squared"})
    add("l2_l1", MISTAKE, l2("torch.sum(torch.abs(w)) / 2"), {"l2_value", "l2_grad"}, mistakes={"l2_grad_mismatch", "l2_l1"})
    add("l2_mean", MISTAKE, l2("torch.mean(w.pow(2)) / 2"), {"l2_value", "l2_grad"},
        mistakes={"l2_grad_mismatch", "l2_mean_not_sum"})
    add("l2_item_cut_from_graph", MISTAKE, l2("torch.tensor(torch.sum(w.pow(2)).item() / 2)"), {"l2_grad"},
        message="计算图", mistakes={"l2_cut_from_graph"})
    add("l2_detached", MISTAKE, l2("torch.sum(w.detach().pow(2)) / 2"), {"l2_grad"}, mistakes={"l2_cut_from_graph"})
    add("l2_no_sum", MISTAKE, l2("w.pow(2) / 2"), {"l2_value"}, message="标量",
        mistakes={"l2_not_scalar"})  # its gradient (of the sum) is w
    add("l2_new_tensor_requires_grad", MISTAKE, l2("torch.tensor(torch.sum(w.pow(2)).item() / 2, requires_grad=True)"),
        {"l2_grad"}, message="得不到梯度", mistakes={"l2_no_gradient"})
    add("l2_not_done", MISTAKE, {"l2_impl": "def l2_penalty(w):\n    # TODO: 计算 L2 惩罚项\n    raise NotImplementedError()\n"},
        {"l2_value", "l2_grad"}, message="还没有实现", compares=False,
        mistakes={"l2_not_implemented"})  # a part left as handed out
