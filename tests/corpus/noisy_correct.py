"""Correct code that is noisy: warnings, stderr, prints, magics, skip-execution tags, getattr on self."""
from .kit import CORRECT

ORDER = 100


def variants(kit):
    add, sol, fwd = kit.add, kit.sol, kit.fwd
    add("correct_with_warnings_and_stderr", CORRECT, {
        "relu_impl": sol["relu_impl"].replace("return torch.maximum(x, torch.zeros_like(x))",
                                              "import sys, warnings\n        warnings.warn('调试:计算 ReLU')\n"
                                              "        print('debug', file=sys.stderr)\n"
                                              "        return torch.maximum(x, torch.zeros_like(x))"),
        "l2_impl": "def l2_penalty(w):\n    print('sum of w:', float(w.sum()))\n    return torch.sum(w.pow(2)) / 2\n"})
    add("correct_skip_execution_tag_on_tests", CORRECT, {}, tag_tests=True)
    # honest code that touches the kernel in the ordinary way: magics, get_ipython() for a magic, gc.collect()
    add("correct_with_magics_and_gc", CORRECT, {}, extra_cell=(
        "%matplotlib inline\nget_ipython().run_line_magic('config', \"InlineBackend.figure_format = 'png'\")\n"
        "import gc\ngc.collect()\n"))
    add("forward_getattr_by_name", CORRECT, fwd(
        "        x = self.activation(getattr(self, 'input_layer')(x))\n"
        "        names = [f'layers.{i}' for i in range(len(self.layers))]\n"
        "        for name in names:\n            x = self.activation(self.get_submodule(name)(x))\n"
        "        head = 'output' + '_layer'\n        return getattr(self, head)(x)\n"))
