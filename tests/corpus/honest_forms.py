"""Honest forms keep every point: nn.Module activations, prints, other correct formulas, getattr with
constant names, magics."""
from .kit import CORRECT

ORDER = 180


def variants(kit):
    add, sol, relu, sig, tanh = kit.add, kit.sol, kit.relu, kit.sig, kit.tanh
    fam = "honest forms"
    module_act = ("class MyReLU(nn.Module):\n    def forward(self, x):\n        return torch.clamp(x, min=0)\n\n"
                  "    def derivative(self, x):\n        return (x > 0).to(x.dtype)\n")
    add("correct_relu_as_nn_module", CORRECT, {"relu_impl": module_act}, family=fam)
    add("correct_all_activations_as_nn_modules", CORRECT, {
        "relu_impl": module_act,
        "sigmoid_impl": "class MySigmoid(nn.Module):\n    def forward(self, x):\n        return 1 / (1 + torch.exp(-x))\n\n"
                        "    def derivative(self, x):\n        s = self(x)\n        return s * (1 - s)\n",
        "tanh_impl": "class MyTanh(nn.Module):\n    def forward(self, x):\n        return 2 * MySigmoid()(2 * x) - 1\n\n"
                     "    def derivative(self, x):\n        return 1 - self(x) ** 2\n"}, family=fam)
    add("correct_prints_in_call", CORRECT, relu(
        "print('MyReLU called on', tuple(x.shape))\n        return torch.where(x > 0, x, 0.0)",
        "return torch.where(x > 0, 1.0, 0.0).to(x.dtype)"), family=fam)
    add("correct_prints_of_statistics", CORRECT, {
        "sigmoid_impl": "class MySigmoid:\n    __call__ = lambda self, x: 1 / (1 + torch.exp(-x))\n\n"
                        "    def derivative(self, x):\n        s = self(x)\n"
                        "        print('sigmoid derivative: mean', s.mean().item(), 'sum', float(s.sum()))\n"
                        "        return s * (1 - s)\n"}, family=fam)
    add("correct_relu_by_sign_and_floor_division", CORRECT, relu(
        "return x * (x.sign() + 1) / 2", "return ((x.sign() + 1) // 2).floor().to(x.dtype)"), family=fam)
    add("correct_tanh_on_own_sigmoid", CORRECT, tanh("return 2 * MySigmoid()(2 * x) - 1",
                                                     "return 1 - self(x) ** 2"), family=fam)
    add("correct_clamp_where_maximum", CORRECT, dict(
        relu("return torch.clamp(x, min=0.0)", "return torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))"),
        **sig("return torch.where(x >= 0, 1 / (1 + torch.exp(-x.clamp(min=0))), torch.exp(x.clamp(max=0)) / "
              "(1 + torch.exp(x.clamp(max=0))))", "s = self(x)\n        return s * (1 - s)")), family=fam)
    add("correct_getattr_on_self_and_constant_names", CORRECT, {"forward_impl": sol["forward_impl"].replace(
        "        x = self.activation(self.input_layer(x))\n",
        "        x = getattr(self, 'activation')(getattr(self, 'input_' + 'layer')(x))\n")}, family=fam)
    add("correct_magics_and_shell", CORRECT, {}, extra_cell=(
        "%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n!echo hello\nprint(getattr(torch, '__version__'))"),
        family=fam)
