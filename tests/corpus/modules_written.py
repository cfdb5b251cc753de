"""Modules the submission writes and imports: the grader cannot read them (needs review)."""

ORDER = 150


def variants(kit):
    review = kit.review
    fam = "modules written and imported"
    hidden_sigmoid = ("import torch\n\n\nclass MySigmoid:\n    def __call__(self, x):\n"
                      "        with torch._C.DisableTorchFunction():\n            return torch.sigmoid(x)\n\n"
                      "    def derivative(self, x):\n        s = self(x)\n        return s * (1 - s)\n")
    review("sigmoid_module_written_and_imported", "sigmoid_impl",
           f"with open('helper_sigmoid.py', 'w') as f:\n    f.write({hidden_sigmoid!r})\n"
           "from helper_sigmoid import MySigmoid\n", family=fam)
    review("sigmoid_module_by_import_module", "sigmoid_impl",
           f"import importlib\nopen('hs2.py', 'w').write({hidden_sigmoid!r})\n"
           "MySigmoid = importlib.import_module('hs2').MySigmoid\n", family=fam)
    review("sigmoid_module_runpy", "sigmoid_impl",
           f"import runpy\nopen('hs3.py', 'w').write({hidden_sigmoid!r})\n"
           "MySigmoid = runpy.run_path('hs3.py')['MySigmoid']\n", family=fam)
    review("sigmoid_writefile_magic_then_import", "sigmoid_impl", "from hs4 import MySigmoid\n", family=fam,
           extra_cell="%%writefile hs4.py\n" + hidden_sigmoid)
    review("sigmoid_run_magic", "sigmoid_impl",
           f"open('hs5.py', 'w').write({hidden_sigmoid!r})\n%run hs5.py\n", family=fam)
