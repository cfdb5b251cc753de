"""grading/rules/scanner.py: what reading one cell's source finds, by kind."""
from grading.rules.finding_kinds import FINDING_KINDS
from grading.rules.scanner import constant_string, scan_source


def kinds(source, derivative=False):
    return [(kind, rule) for kind, rule, _, _ in scan_source(source, derivative)]


def test_honest_code_finds_nothing():
    assert kinds("import torch\nimport numpy as np\nx = torch.where(torch.randn(3) > 0, 1.0, 0.0)\nprint(x)\n"
                 "%matplotlib inline\n") == []


def test_tampering_with_the_kernel():
    assert ("tampering", "trace_hook") in kinds("import sys\nsys.settrace(None)")
    assert ("tampering", "grader_module") in kinds("import lab2_probe")
    assert ("tampering", "ipython_hook") in kinds("get_ipython().events.register('pre_run_cell', print)")


def test_code_the_grader_cannot_read_goes_to_review():
    assert kinds("exec(code)") == [("unreadable_code", "exec")]
    assert kinds("import torch\nf = getattr(torch, 're' + name)") == [("unreadable_code", "name")]
    assert kinds("%run other.py") == [("unreadable_code", "magic")]
    assert kinds("exec('import sys; sys.settrace(None)')") == [("tampering", "trace_hook")]  # its code is read


def test_code_run_in_another_process_goes_to_review_and_threads_are_read():
    """The recorder sees every thread of the kernel's process while a call runs: what runs in another process, or
    when a timer or a fork hook says, needs a person; a thread is judged by what it ran."""
    for source in ("import multiprocessing as mp", "from multiprocessing import Pool",
                   "import torch.multiprocessing as tmp", "import os\nos.register_at_fork(after_in_child=f)",
                   "import signal\nsignal.setitimer(signal.ITIMER_REAL, 0.01)"):
        assert ("unreadable_code", "process") in kinds(source), source
    for source in ("import threading\nthreading.Thread(target=f).start()",
                   "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(2)",
                   "import _thread", "y = torch.jit.wait(torch.jit.fork(f, x))", "import asyncio",
                   "import time\nimport math\ntime.sleep(0.1)"):
        assert kinds(source) == [], source


def test_autograd_counts_only_in_a_derivative():
    source = "def derivative(self, x):\n    return torch.autograd.grad(y, x)"
    assert ("autograd", "torch.autograd") in kinds(source, derivative=True)
    assert not any(kind == "autograd" for kind, _ in kinds(source))


def test_a_cell_that_does_not_parse_and_one_too_deep():
    [(kind, rule, line, _)] = scan_source("x = 1\ny = (")
    assert (kind, rule, line) == ("syntax", "syntax_error", 2)
    assert kinds("x = " + "-" * 3000 + "1") == [("unreadable_code", "too_deep")]


def test_constant_strings_are_read_through_joins_and_f_strings():
    import ast
    assert constant_string(ast.parse("'re' + 'lu'").body[0].value) == "relu"
    assert constant_string(ast.parse("''.join(['re', 'lu'])").body[0].value) == "relu"
    assert constant_string(ast.parse("name + 'lu'").body[0].value) is None


def test_every_kind_found_is_declared():
    found = kinds("import sys\nsys.settrace(None)\nexec(x)\nimport torch\ntorch.relu = abs\ndef rel_error(a, b): pass")
    assert {kind for kind, _ in found} <= set(FINDING_KINDS)


def test_a_package_not_installed_is_unreadable_to_the_grader_and_missing_to_the_advice():
    """The grader reads an import as its venv has it: a module found nowhere is unreadable there, as before. On the
    student's machine (the advice: absent_ok) it is a package not installed, which the import itself says; a module
    that is there but not installed (one the submission wrote) stays unreadable."""
    source = "import lab2_no_such_package\nfrom lab2_no_such_package.sub import f"
    assert kinds(source) == [("unreadable_code", "import")] * 2
    assert scan_source(source, absent_ok=True) == []
    assert [k for k, *_ in scan_source("import conftest", absent_ok=True)] == ["unreadable_code"]  # tests/conftest.py
