"""exec of decoded text (base64, rot13, zlib, hex, compile, marshal): needs review."""
import base64
import codecs
import marshal
import zlib

from .kit import SIGMOID_DERIVATIVE, activation_class

ORDER = 160


def variants(kit):
    review = kit.review
    same = SIGMOID_DERIVATIVE
    fam = "exec of decoded text"
    hidden = "class MyTanh:\n    def __call__(self, x):\n        return torch.tanh(x)\n\n" \
             "    def derivative(self, x):\n        return 1 - torch.tanh(x) ** 2\n"
    review("tanh_exec_base64", "tanh_impl",
           f"import base64\nexec(base64.b64decode({base64.b64encode(hidden.encode()).decode()!r}).decode())\n", fam)
    review("tanh_exec_rot13", "tanh_impl", f"import codecs\nexec(codecs.decode({codecs.encode(hidden, 'rot13')!r}, 'rot13'))\n",
           fam)
    review("tanh_exec_zlib", "tanh_impl",
           f"import zlib\nexec(zlib.decompress({zlib.compress(hidden.encode())!r}).decode())\n", fam)
    review("tanh_exec_hex", "tanh_impl", f"exec(bytes.fromhex({hidden.encode().hex()!r}).decode())\n", fam)
    review("tanh_eval_compiled", "tanh_impl", f"code = compile({hidden[::-1]!r}[::-1], 'x', 'exec')\neval(code)\n", fam)
    sigmoid_code = marshal.dumps(compile("def _s(x):\n    import torch\n    return torch.sigmoid(x)\n", "m", "exec"))
    review("sigmoid_exec_marshal_code_object", "sigmoid_impl",
           "import marshal, base64\n_ns = {}\n"
           f"exec(marshal.loads(base64.b64decode({base64.b64encode(sigmoid_code).decode()!r})), _ns)\n"
           + activation_class("MySigmoid", "return _ns['_s'](x)", same), fam)
