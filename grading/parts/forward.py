"""Network.forward: input layer → activation → (hidden layer → activation) × num_layers → output layer, with
the activation the constructor chose (self.activation). Graded once per activation name, with an activation
the grader knows in place of the student's (forward is graded alone, whatever the activations' state)."""
from functools import partial

import torch

from grading import judging
from grading.judging import Failed
from grading.parts import Part, Test

CASES = ((3, 12, 5, 7), (1, 9, 4, 3), (0, 6, 3, 2))  # num_layers, input_dim, output_dim, batch
ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}  # Network's activation_name
SHOWN = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def plan(seed, activation):
    from grading import parts  # the activation parts' classes (read when grading: parts/ is loaded by then)
    return {"collector": "network", "activation": activation,
            "activation_classes": [p.obj for p in parts.PARTS if p.name in ACTIVATIONS],
            "inputs": {f"x{i}": {"kind": "randn", "dtype": "float32", "shape": [batch, in_dim], "seed": seed + i}
                       for i, (_, in_dim, _, batch) in enumerate(CASES)},
            "cases": [{"num_layers": n, "input_dim": i, "output_dim": o, "input": f"x{k}", "init_seed": seed + 100 + k}
                      for k, (n, i, o, _) in enumerate(CASES)]}


def judge(part, plan, meta, arrays, compared, *, activation):
    what = f"Network.forward(activation_name='{activation}')"
    xs = judging.inputs_of(plan)
    for case, call in zip(plan["cases"], meta["calls"], strict=True):
        label = f"{what}[num_layers={case['num_layers']}]"
        if call.get("construct_error"):
            raise Failed("forward_construct_error", f"无法创建 Network(...):{judging.err_text(call['construct_error'])}")
        x = xs[case["input"]]
        judging.ran_within_rules(call, part, label)
        out = judging.tensor(call["out"], arrays, part.name, what, shape=(x.shape[0], case["output_dim"]))
        if not judging.unchanged(call, x):
            raise Failed("forward_modifies_input", f"{what} 修改了输入张量 x。")
        if call.get("params_error") or not call.get("params"):
            raise Failed("forward_layers_missing", f"{what}:读不到网络的层(input_layer / layers / output_layer):"
                         f"{call.get('params_error', '')}")
        h = x.double()
        params = call["params"]
        for index, (layer, weight, bias) in enumerate(params):
            w = judging.tensor(weight, arrays, part.name, f"{layer}.weight")
            no_bias = isinstance(bias, dict) and bias.get("type") == "builtins.NoneType"
            b = None if no_bias else judging.tensor(bias, arrays, part.name, f"{layer}.bias")
            h = torch.nn.functional.linear(h, w, b)
            if index < len(params) - 1:
                h = ACTIVATIONS[activation](h)
        try:
            judging.compare(compared, "forward_mismatch", f"{what} [num_layers={case['num_layers']}]", out, h)
        except Failed as failure:
            raise Failed(failure.mistake, f"{failure.message}\n应该是:输入层 → 激活 → 每个隐藏层后都接激活 → 输出层"
                                          f"(输出层后不接激活),激活函数用 self.activation。") from None
        if not call.get("activation_calls"):
            raise Failed("forward_no_self_activation", f"{what} 没有调用 self.activation。请使用构造函数里选好的激活函数。")


MISTAKES = ("construct_error", "modifies_input", "layers_missing", "mismatch", "no_self_activation")  # judge's


PART = Part(
    name="forward", order=4, title="前向传播", code="Network.forward", answer="forward_impl", obj="Network",
    section="梯度消失实验",
    tests=tuple(Test(f"forward_{a}", 4, f"{SHOWN[a]} 网络的前向传播", partial(plan, activation=a),
                     partial(judge, activation=a), mistakes=MISTAKES) for a in ACTIVATIONS),
    sample_mistake=("return self.output_layer(x)", "return self.activation(self.output_layer(x))"),
    sample_fails=tuple(f"forward_{a}" for a in ACTIVATIONS),
)
