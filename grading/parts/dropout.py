"""dropout_layer(X, dropout): drop each element with probability p, scale the kept ones by 1/(1-p), a new mask
every call, X left as it is."""
from grading import judging
from grading.judging import Failed
from grading.parts import Part, Test


def plan(inputs, calls, seed):
    """inputs: name -> (shape, float bits); calls: (input name, p) or (input name, p, device) in order."""
    return {"collector": "function",
            "inputs": {name: {"kind": "rand_plus_one", "dtype": f"float{bits}", "shape": list(shape), "seed": seed + i}
                       for i, (name, (shape, bits)) in enumerate(inputs.items())},
            "cases": [dict({"args": [{"input": name}, {"value": p}]}, **({"device": rest[0]} if rest else {}))
                      for name, p, *rest in calls]}


EDGES = ({"X": ((16, 32), 32)}, (("X", 0.0), ("X", 1.0)))
STATS = ({f"X{p}_{bits}": ((400, 250), bits) for p in (0.2, 0.5, 0.7) for bits in (32, 64)},
         tuple((f"X{p}_{bits}", p) for p in (0.2, 0.5, 0.7) for bits in (32, 64)))
# the first and the last call: the same X and p (is the mask new each call?); between them, other shapes
MASK = ({"X": ((400, 250), 32), "v": ((10000,), 64), "c": ((10, 20, 30), 64)},
        (("X", 0.5), ("v", 0.3), ("c", 0.3), ("X", 0.5), ("X", 0.5, "meta"), ("v", 0.3, "meta")))
# the last two: on the meta device (a mask made on the CPU, torch.rand(X.shape) without device=, fails there as on a GPU)


def _output(part, call, arrays, X, p):
    what = f"dropout_layer(X, {p})"
    judging.ran_within_rules(call, part, what)
    out = judging.tensor(call["out"], arrays, "dropout", what, like=X)
    if not judging.unchanged(call, X):
        raise Failed("dropout_modifies_input", f"{what} 修改了输入 X(原地操作,例如 X *= mask 或 X[mask] = 0)。"
                     "请返回新的张量,保持 X 不变。")
    return out, what


def _keep_stats(out, X, p):
    kept = out != 0
    keep_rate = kept.double().mean().item()
    ratio = out.double() / X.double()
    scale_err = (ratio[kept] - 1.0 / (1.0 - p)).abs().max().item() if keep_rate > 0 else 0.0
    return kept, keep_rate, judging.finite(scale_err)


def _calls(part, plan, meta, arrays, compared):
    """(X, p, out, what) of each call on the CPU; the calls on another device are judged there (judging.judge_device)."""
    xs = judging.inputs_of(plan)
    judging.warnings_of(compared, meta["calls"])
    for case, call in zip(plan["cases"], meta["calls"], strict=True):
        X, p = xs[case["args"][0]["input"]], case["args"][1]["value"]
        if judging.on_device(case):
            continue  # judged last (judge_mask: _on_device)
        out, what = _output(part, call, arrays, X, p)
        yield X, p, out, what


def _on_device(part, plan, meta, compared):
    """The calls on the meta device: the result on X's device, of X's shape (its dtype: judge_stats)."""
    xs = judging.inputs_of(plan)
    for case, call in zip(plan["cases"], meta["calls"], strict=True):
        if judging.on_device(case):
            X, p = xs[case["args"][0]["input"]], case["args"][1]["value"]
            judging.judge_device(compared, call, part, f"dropout_layer(X, {p})", case["device"], shape=tuple(X.shape))


def judge_edges(part, plan, meta, arrays, compared):
    for X, p, out, what in _calls(part, plan, meta, arrays, compared):
        if p == 0.0:
            max_abs, _, has_nan = judging.errors(out, X)
            compared(f"{what}: 与 X 的最大绝对误差 {max_abs:.2e}")
            if max_abs != 0.0 or has_nan:
                raise Failed("dropout_p0_changes_x", f"{what} 应原样返回 X(一个元素都不丢弃),实际与 X 的最大差为 {max_abs:.3g}。")
        else:
            kept = (out != 0).double().mean().item()
            compared(f"{what}: 非零元素比例 {kept:.2%}")
            if kept != 0.0:
                raise Failed("dropout_p1_keeps", f"{what} 应返回全 0 张量(全部丢弃),实际有 {kept:.2%} 的元素非零。")


def judge_stats(part, plan, meta, arrays, compared):
    stats = []
    for X, p, out, what in _calls(part, plan, meta, arrays, compared):
        kept, keep_rate, scale_err = _keep_stats(out, X, p)
        compared(f"{what} [{judging.dtype_name(X)}]: 保留率 {keep_rate:.4f}(应约为 1-p = {1 - p:.2f}),"
            f"保留元素的缩放误差 {scale_err:.1e}(应乘以 1/(1-p) = {1 / (1 - p):.4f})")
        stats.append((X, p, what))
        if abs(keep_rate - (1 - p)) > 0.01:
            mistake, hint = "dropout_keep_rate", ""
            if abs(keep_rate - p) <= 0.01:
                mistake, hint = "dropout_keeps_with_p", "看起来是以概率 p 保留、以 1-p 丢弃,方向反了:掩码应为 rand > p。"
            raise Failed(mistake, f"{what} 的保留率为 {keep_rate:.4f},应约为 1-p = {1 - p:.2f}。{hint}")
        if scale_err > 1e-4:
            mistake, ratio_hint = "dropout_rescale", ""
            if keep_rate > 0:
                r = (out.double() / X.double())[kept].mean().item()
                ratio_hint = f"保留下来的元素被乘了约 {r:.4f}"
                if abs(r - 1.0) < 1e-3:
                    mistake, ratio_hint = "dropout_no_rescale", ratio_hint + "(没有缩放)"
                elif abs(r - 1.0 / p) < 1e-3:
                    mistake, ratio_hint = "dropout_rescale_by_p", ratio_hint + "(除以了 p)"
            raise Failed(mistake, f"{what}:保留下来的元素应乘以 1/(1-p) = {1 / (1 - p):.4f},使输出的期望等于输入;"
                         f"{ratio_hint},最大误差 {scale_err:.2e}。")
    for (X, _, what), call in zip(stats, meta["calls"], strict=True):  # the values are right: is the dtype X's?
        judging.kept_dtype(compared, call["out"], X.dtype, part, f"{what} [{judging.dtype_name(X)}]")


def judge_mask(part, plan, meta, arrays, compared):
    results = list(_calls(part, plan, meta, arrays, compared))
    (_, _, out1, what), (_, _, out2, _) = results[0], results[-1]  # the same X and p, twice
    m1, m2 = out1 != 0, out2 != 0
    same = (m1 == m2).double().mean().item()
    compared(f"两次调用 {what} 的掩码相同的比例: {same:.2%}(独立的掩码约为 50%)")
    if same > 0.9:
        raise Failed("dropout_same_mask", f"两次调用 {what} 得到了(几乎)相同的掩码({same:.2%} 相同)。"
                     "每次调用都要生成新的随机掩码,"
                     "不要在函数里设置随机种子或复用同一个掩码。")
    rows = (m1.all(1) | (~m1).all(1)).double().mean().item()
    cols = (m1.all(0) | (~m1).all(0)).double().mean().item()
    compared(f"整行全部保留或全部丢弃的比例: {rows:.2%};整列: {cols:.2%}(逐元素独立时都应约为 0%)")
    if rows > 0.05 or cols > 0.05:
        raise Failed("dropout_mask_not_elementwise",
                     f"{what} 的掩码不是逐元素独立的:{rows:.0%} 的行、{cols:.0%} 的列被整行/整列保留或丢弃。"
                     "掩码的形状要与 X 完全相同,例如 torch.rand(X.shape)。")
    for Xs, p, out, w in results[1:-1]:
        _, keep_rate, scale_err = _keep_stats(out, Xs, p)
        shape = tuple(Xs.shape)
        compared(f"{w} [形状 {shape}]: 保留率 {keep_rate:.3f},缩放误差 {scale_err:.1e}")
        if abs(keep_rate - 0.7) > 0.05 or scale_err > 1e-4:
            raise Failed("dropout_shape", f"{w} 对形状为 {shape} 的输入不正确:保留率 {keep_rate:.3f}(应约为 0.7),"
                                          f"缩放误差 {scale_err:.1e}。")
    _on_device(part, plan, meta, compared)


PART = Part(
    name="dropout", order=6, title="Dropout", code="dropout_layer", answer="dropout_impl", obj="dropout_layer",
    tests=(Test("dropout_edges", 4, "dropout 的边界情况 p = 0 与 p = 1", lambda seed: plan(*EDGES, seed), judge_edges,
                mistakes=("modifies_input", "p0_changes_x", "p1_keeps")),
           Test("dropout_stats", 7, "dropout 的保留率与缩放", lambda seed: plan(*STATS, seed), judge_stats,
                mistakes=("modifies_input", "keep_rate", "keeps_with_p", "rescale", "no_rescale", "rescale_by_p",
                          judging.DTYPE)),
           Test("dropout_mask", 6, "dropout 的掩码", lambda seed: plan(*MASK, seed), judge_mask,
                mistakes=("modifies_input", "same_mask", "mask_not_elementwise", "shape", judging.DEVICE))),
    ops="basic+random", in_torch=True,
    sample_mistake=("return mask * X / (1.0 - dropout)", "return mask * X"), sample_fails=("dropout_stats", "dropout_mask"),
)
