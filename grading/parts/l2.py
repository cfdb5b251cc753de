"""l2_penalty(w): the L2 penalty ‖w‖²/2 as a scalar tensor in w's graph (its gradient is w: weight decay)."""
from grading import judging
from grading.judging import Failed
from grading.parts import Part, Test

SHAPES = (((200, 1), 32), ((1, 200), 32), ((5,), 32), ((3, 4), 64), ((2, 3, 4), 32), ((10, 10), 64))
ON_DEVICE = (0, 3)  # the value test calls these weights once more on the meta device: a 0-dim tensor on w's device


def plan(seed, grad=False):
    cases = [{"args": [{"input": f"w{i}"}], "requires_grad": grad, "backward": grad} for i in range(len(SHAPES))]
    if not grad:
        cases += [{"args": [{"input": f"w{i}"}], "device": "meta"} for i in ON_DEVICE]
    return {"collector": "function",
            "inputs": {f"w{i}": {"kind": "randn", "dtype": f"float{bits}", "shape": list(shape), "seed": seed + i}
                       for i, (shape, bits) in enumerate(SHAPES)},
            "cases": cases}


WHAT = "l2_penalty(w)"


def _calls(part, plan, meta, arrays, compared):
    """(w, call, its output) of each call that ran and returned a tensor."""
    xs = judging.inputs_of(plan)
    judging.warnings_of(compared, meta["calls"])
    for case, call in zip(plan["cases"], meta["calls"], strict=True):
        if judging.on_device(case):
            continue  # judged last, by judge_value
        judging.ran_within_rules(call, part, WHAT)
        yield xs[case["args"][0]["input"]], call, judging.tensor(call["out"], arrays, part.name, WHAT)


def judge_value(part, plan, meta, arrays, compared):
    what = WHAT
    for w, call, out in _calls(part, plan, meta, arrays, compared):
        if out.numel() != 1:
            raise Failed("l2_not_scalar", f"{what} 应返回一个标量(所有元素的平方和除以 2),实际形状为 {tuple(out.shape)}。")
        if not judging.unchanged(call, w):
            raise Failed("l2_modifies_input", f"{what} 修改了权重 w。惩罚项只应读取 w。")
        want = (w.double() ** 2).sum().item() / 2
        got = out.reshape(-1)[0].item()
        rel = abs(got - want) / max(abs(want), 1e-12)
        compared(f"{what} [形状 {tuple(w.shape)}]: 你的结果 {got:.6g},参考值 ‖w‖²/2 = {want:.6g},相对误差 {rel:.1e}")
        if not rel <= 1e-5:
            l1 = w.double().abs().sum().item()
            norm = (2 * want) ** 0.5
            n = w.numel()
            known = ((2 * want, "l2_missing_half", "忘了除以 2"), (want / n, "l2_mean_not_sum", "用了平均而不是求和"),
                     (2 * want / n, "l2_mean_not_sum", "用了平均而不是求和"),
                     (norm, "l2_norm_not_squared", "用了范数 ‖w‖ 而不是范数的平方"),
                     (norm / 2, "l2_norm_not_squared", "用了范数 ‖w‖ 而不是范数的平方"),
                     (l1, "l2_l1", "写成了 L1(绝对值之和)"), (l1 / 2, "l2_l1", "写成了 L1(绝对值之和)"))
            hit = next(((m, h) for value, m, h in known if abs(got - value) <= 1e-5 * max(abs(value), 1e-12)), None)
            raise Failed(hit[0] if hit else "l2_value_mismatch",
                         f"{what} 的值不对:你的结果 {got:.6g},应为 sum(w²)/2 = {want:.6g}(相对误差 {rel:.1e})"
                         + (f"。看起来是{hit[1]}" if hit else "") + "。")
    for case, call in zip(plan["cases"], meta["calls"], strict=True):
        if judging.on_device(case):  # a 0-dim tensor on w's device (the training loop adds it to the loss there)
            judging.judge_device(compared, call, part, what, case["device"], shape=())


def judge_grad(part, plan, meta, arrays, compared):
    what = WHAT
    for w, call, _ in _calls(part, plan, meta, arrays, compared):
        if not call["out"].get("requires_grad"):
            raise Failed("l2_cut_from_graph", f"{what} 的结果脱离了计算图(requires_grad=False),正则项就不会影响训练。"
                         "不要用 .item()、float()、.detach()、torch.tensor(...) 或 numpy 计算惩罚项。")
        if call.get("backward_error"):
            raise Failed("l2_runtime_error", f"对 {what} 反向传播时出错:{call['backward_error']}")
        if not call.get("grad"):
            raise Failed("l2_no_gradient", f"{what} 对 w 求导得不到梯度:结果没有连到 w 上。")
        grad = judging.tensor(call["grad"], arrays, "l2", "∂ l2_penalty / ∂w", like=w)
        max_abs, _, has_nan = judging.errors(grad, w)
        compared(f"∂ l2_penalty / ∂w 与 w 的最大绝对误差 [形状 {tuple(w.shape)}]: {max_abs:.2e}")
        if has_nan or not max_abs <= 1e-5 * max(1.0, w.double().abs().max().item()):
            raise Failed("l2_grad_mismatch",
                         f"{what} 的梯度应等于 w 本身(这正是「权重衰减」的来源),最大绝对误差却为 {max_abs:.2e}。")


PART = Part(
    name="l2", order=5, title="L2 惩罚", code="l2_penalty", answer="l2_impl", obj="l2_penalty",
    ops="basic+sums", section="L2 正则化",
    tests=(Test("l2_value", 6, "l2_penalty 的值", plan, judge_value,
                mistakes=("not_scalar", "modifies_input", "missing_half", "mean_not_sum", "norm_not_squared", "l1",
                          "value_mismatch", judging.DEVICE)),
           Test("l2_grad", 6, "l2_penalty 的梯度", lambda seed: plan(seed, grad=True), judge_grad,
                mistakes=("cut_from_graph", "no_gradient", "grad_mismatch"))),
    sample_mistake=("torch.sum(w.pow(2)) / 2", "torch.sum(w.pow(2))"), sample_fails=("l2_value", "l2_grad"),
    done_in_partial_sample=True,
)
