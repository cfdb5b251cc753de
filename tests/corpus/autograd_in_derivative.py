"""Autograd in a derivative: forward mode (dual numbers through the student's own __call__), torch.func,
aliases, names built at run time."""
from .kit import POLICY

ORDER = 90


def variants(kit):
    add, review, sig, tanh = kit.add, kit.review, kit.sig, kit.tanh
    autograd = "autograd in a derivative"
    sig_ad = lambda name, deriv, **kw: add(name, POLICY, sig("return 1 / (1 + torch.exp(-x))", deriv),
                                            {"sigmoid_derivative"}, message="自动求导", reported=autograd,
                                            mistakes={"sigmoid_autograd"}, **kw)
    tanh_ad = lambda name, deriv: add(name, POLICY, tanh("return 2 / (1 + torch.exp(-2 * x)) - 1", deriv),
                                      {"tanh_derivative"}, message="自动求导", reported=autograd, mistakes={"tanh_autograd"})
    sig_ad("sigmoid_forward_mode_dual_numbers",
           "import torch.autograd.forward_ad as fwAD\n        with fwAD.dual_level():\n"
           "            dual = fwAD.make_dual(x, torch.ones_like(x))\n"
           "            return fwAD.unpack_dual(self(dual)).tangent")
    sig_ad("sigmoid_torch_func_jacfwd", "return torch.func.jacfwd(self)(x).diagonal()  if x.dim() == 1 else "
           "torch.func.vmap(torch.func.grad(self))(x.reshape(-1)).reshape(x.shape)")
    tanh_ad("tanh_torch_func_grad_vmap",
            "return torch.func.vmap(torch.func.grad(lambda v: self(v)))(x.reshape(-1)).reshape(x.shape)")
    tanh_ad("tanh_func_alias_jvp", "from torch import func as f\n        return f.jvp(self, (x,), (torch.ones_like(x),))[1]")
    tanh_ad("tanh_autograd_functional_alias",
            "ag = torch.autograd\n        return ag.functional.jvp(self, x, torch.ones_like(x))[1]")
    sig_ad("sigmoid_forward_mode_by_built_name",
           "import importlib\n        ad = importlib.import_module('.'.join(['torch', 'autograd', 'forward_ad']))\n"
           "        with ad.dual_level():\n            return ad.unpack_dual(self(ad.make_dual(x, torch.ones_like(x)))).tangent")
    # every name built at run time: the grader cannot read it, so every test after it waits for a TA (the op
    # recorder in the kernel sees _make_dual too)
    review("sigmoid_forward_mode_hidden_name", "sigmoid_impl", sig(
        "return 1 / (1 + torch.exp(-x))",
        "import importlib\n        ad = importlib.import_module('da_drawrof.dargotua.hcrot'[::-1])\n"
        "        level, make, unpack = (getattr(ad, n[::-1]) for n in ('level_laud', 'laud_ekam', 'laud_kcapnu'))\n"
        "        with level():\n            return unpack(self(make(x, torch.ones_like(x)))).tangent")["sigmoid_impl"],
        family="names built at run time")
