"""Submissions judged by everything their code runs: tables built while the answer cell runs (with torch, numpy or
math), threads and pools, captured caches, CPU-only constructors, dtype changes, and the honest forms with constants,
in-place ops, index assignment and masked_fill that keep every point."""
from .kit import CORRECT, MISTAKE, POLICY, REVIEW, Variant, activation_class, tests_after

ORDER = 190

TABLES, THREADS, CACHES = "definition-time tables", "threads and pools", "captured caches"
CPU_ONLY, DTYPES, HONEST = "CPU-only constructors", "dtype changes", "honest constant forms"

# a table of f over [-20, 20] in steps of 1e-4, read by linear interpolation: right to about 1e-8, and every op it
# runs while it is called (clamp, mul, floor, index, ...) is allowed; only what the table was built with is not
_LOOKUP = ("    def __call__(self, x):\n"
           "        T = self.TABLE.to(x.device, x.dtype)\n"
           "        u = (x.clamp(-20.0, 20.0) + 20.0) * 10000.0\n"
           "        i = u.floor().clamp(max=399999).long()\n"
           "        return T[i] + (u - i) * (T[i + 1] - T[i])\n\n")
_TABLE_CLASS = "class {name}:\n    TABLE = {table}\n\n" + _LOOKUP + "    def derivative(self, x):\n        {deriv}\n"


def variants(kit):
    source_nb, variants = kit.source_nb, kit.variants

    def add(name, kind, family, answers, must_fail=(), **kw):
        variants.append(Variant(name, kind, answers, frozenset(must_fail), family=family, **kw))

    def review(name, cell, code, extra_cell=""):
        """Code run in another process (or when a timer says): every test after its cell waits for review."""
        answers = {cell: code} if code else {}
        add(name, REVIEW, THREADS, answers, tests_after(source_nb, cell), review_from=cell, reported="unreadable code",
            extra_cell=extra_cell, message="助教复核")

    relu = lambda call, deriv: {"relu_impl": activation_class("MyReLU", call, deriv)}
    sig = lambda call, deriv: {"sigmoid_impl": activation_class("MySigmoid", call, deriv)}
    tanh = lambda call, deriv: {"tanh_impl": activation_class("MyTanh", call, deriv)}
    drop = lambda body: {"dropout_impl": "def dropout_layer(X, dropout):\n    assert 0 <= dropout <= 1\n"
                                         "    if dropout == 1:\n        return torch.zeros_like(X)\n"
                                         "    if dropout == 0:\n        return X\n" + body}
    l2 = lambda body: {"l2_impl": f"def l2_penalty(w):\n    return {body}\n"}
    both = lambda part: {f"{part}_value", f"{part}_derivative"}

    # ---------------------------------------------------------------- tables built while the answer cell runs
    add("table_sigmoid_torch_in_class_body", POLICY, TABLES, {"sigmoid_impl": _TABLE_CLASS.format(
        name="MySigmoid", table="torch.sigmoid(torch.linspace(-20.0, 20.0, 400001, dtype=torch.float64))",
        deriv="s = self(x)\n        return s * (1 - s)")}, both("sigmoid"), message="答案单元运行时",
        mistakes={"sigmoid_op_at_definition"})
    add("table_tanh_numpy_in_class_body", POLICY, TABLES, {"tanh_impl": "import numpy as np\n\n\n" + _TABLE_CLASS.format(
        name="MyTanh", table="torch.from_numpy(np.tanh(np.linspace(-20.0, 20.0, 400001)))",
        deriv="return 1 - self(x) ** 2")}, both("tanh"), message="400001 个元素", mistakes={"tanh_outside_state"})
    add("table_tanh_math_module_level", POLICY, TABLES, {"tanh_impl": (
        "import math\n\n_TANH = torch.tensor([math.tanh(-20.0 + i * 1e-4) for i in range(400001)], dtype=torch.float64)\n\n\n"
        + _TABLE_CLASS.format(name="MyTanh", table="_TANH", deriv="return 1 - self(x) ** 2"))},
        both("tanh"), message="预先算好的表", mistakes={"tanh_outside_state"})
    add("table_relu_default_argument", POLICY, TABLES, {"relu_impl": (
        "class MyReLU:\n    def __call__(self, x, _zero=torch.relu(-torch.ones(1))):\n"
        "        return torch.maximum(x, _zero.to(x.dtype))\n\n"
        "    def derivative(self, x):\n        return (x > 0).to(x.dtype)\n")}, both("relu"), message="torch.relu",
        mistakes={"relu_op_at_definition"})
    add("table_sigmoid_constant_by_the_library", POLICY, TABLES, {"sigmoid_impl": (
        "_HALF = torch.sigmoid(torch.zeros(()))  # 0.5, by the library\n\n\n" + activation_class(
            "MySigmoid", "return 1 / (1 + torch.exp(-x))", "s = self(x)\n        return s * (1 - s) * (_HALF / 0.5)"))},
        both("sigmoid"), message="torch.sigmoid", mistakes={"sigmoid_op_at_definition"})
    add("table_dropout_masks_drawn_in_advance", POLICY, TABLES, drop(
        "    n = X.numel()\n    start = int(torch.randint(0, _MASKS.numel() - n, ()))\n"
        "    mask = (_MASKS[start:start + n].to(X.device).reshape(X.shape) > dropout).to(X.dtype)\n"
        "    return mask * X / (1.0 - dropout)\n\n\n_MASKS = torch.rand(1_000_000)\n"),
        {"dropout_stats", "dropout_mask"}, message="1000000 个元素", mistakes={"dropout_outside_state"})

    # ---------------------------------------------------------------- threads and pools: judged by what they ran
    # (the profiler records every thread of the kernel's process); a result made in another thread is state from
    # outside the call; only another process needs review
    add("thread_pool_relu", POLICY, THREADS, {"relu_impl": "from concurrent.futures import ThreadPoolExecutor\n\n"
        "_POOL = ThreadPoolExecutor(1)\n\n\n" + activation_class(
            "MyReLU", "return _POOL.submit(lambda: x.relu()).result()", "return (x > 0).to(x.dtype)")},
        {"relu_value"}, message="torch.relu", mistakes={"relu_op_not_allowed"})
    add("thread_dropout_threading", POLICY, THREADS, {"dropout_impl": "import threading\n\n\n" + drop(
        "    out = []\n    t = threading.Thread(target=lambda: out.append(torch.dropout(X, dropout, True)))\n"
        "    t.start()\n    t.join()\n    return out[0]\n")["dropout_impl"]}, {"dropout_stats", "dropout_mask"},
        message="torch.dropout", mistakes={"dropout_op_not_allowed"})
    add("thread_sigmoid_jit_fork", POLICY, THREADS, sig("return torch.jit.wait(torch.jit.fork(torch.sigmoid, x))",
                                                        "s = self(x)\n        return s * (1 - s)"),
        both("sigmoid"), message="torch.sigmoid", mistakes={"sigmoid_op_not_allowed"})
    add("thread_tanh_low_level", POLICY, THREADS, {"tanh_impl": "import _thread\nimport time\n\n\n" + activation_class(
        "MyTanh", "out = []\n        _thread.start_new_thread(lambda: out.append(torch.tanh(x)), ())\n"
                  "        while not out:\n            time.sleep(0.001)\n        return out[0]",
        "return 1 - self(x) ** 2")}, both("tanh"), message="torch.tanh", mistakes={"tanh_op_not_allowed"})
    add("thread_sigmoid_server_started_in_a_cell_of_its_own", POLICY, THREADS, sig(
        "out = torch.empty_like(x)\n        _JOBS.put((x, out))\n        _DONE.get()\n        return out",
        "s = self(x)\n        return s * (1 - s)"), both("sigmoid"), message="torch.sigmoid", extra_cell=(
        "import queue\nimport threading\n\n_JOBS, _DONE = queue.Queue(), queue.Queue()\n\n\ndef _serve():\n"
        "    while True:\n        x, out = _JOBS.get()\n        try:\n            out.copy_(torch.sigmoid(x))\n"
        "        finally:\n            _DONE.put(True)\n\n\n"
        "threading.Thread(target=_serve, daemon=True).start()\n"), mistakes={"sigmoid_op_not_allowed"})
    add("thread_relu_allowed_ops_result_from_the_thread", POLICY, THREADS, {"relu_impl": "import threading\n\n\n"
        + activation_class("MyReLU", "out = []\n        t = threading.Thread(target=lambda: out.append(x.clamp(min=0)))\n"
                           "        t.start()\n        t.join()\n        return out[0]", "return (x > 0).to(x.dtype)")},
        {"relu_value"}, message="别的线程", mistakes={"relu_outside_state"})
    review("process_thread_pool_from_multiprocessing_relu", "relu_impl", "from multiprocessing.pool import ThreadPool\n\n\n"
           + activation_class("MyReLU", "with ThreadPool(1) as pool:\n            return pool.apply(torch.clamp, (x, 0))",
                              "return (x > 0).to(x.dtype)"))

    # ---------------------------------------------------------------- caches and stored results
    add("cache_sigmoid_by_content", POLICY, CACHES, {"sigmoid_impl": "_CACHE = {}\n\n\n" + sig(
        "key = (round(float(x.sum()), 3), x.numel(), x.dtype, x.requires_grad)\n"
        "        if key not in _CACHE:\n            _CACHE[key] = 1 / (1 + torch.exp(-x))\n"
        "        return _CACHE[key].reshape(x.shape)",
        "s = 1 / (1 + torch.exp(-x))\n        return s * (1 - s)")["sigmoid_impl"]}, {"sigmoid_value"}, message="缓存",
        mistakes={"sigmoid_outside_state"})
    add("cache_dropout_next_mask_stored", POLICY, CACHES, drop(
        "    key = (tuple(X.shape), X.device)\n    mask = _NEXT.get(key)\n"
        "    if mask is None:\n        mask = torch.rand(X.shape, device=X.device)\n"
        "    _NEXT[key] = torch.rand(X.shape, device=X.device)\n"
        "    return (mask > dropout).to(X.dtype) * X / (1.0 - dropout)\n\n\n_NEXT = {}\n"),
        {"dropout_stats", "dropout_mask"}, message="存下来的结果", mistakes={"dropout_outside_state"})

    # ---------------------------------------------------------------- CPU-only constructors: break on a GPU
    add("cpu_only_relu_derivative_ones", MISTAKE, CPU_ONLY, relu(
        "return torch.maximum(x, torch.zeros_like(x))",
        "return torch.where(x > 0, torch.ones(x.shape), torch.zeros(x.shape))"), {"relu_derivative"}, message="GPU",
        mistakes={"relu_device_not_kept"})
    add("cpu_only_sigmoid_ones", MISTAKE, CPU_ONLY, sig(
        "return 1 / (torch.ones(x.shape, dtype=x.dtype) + torch.exp(-x))", "s = self(x)\n        return s * (1 - s)"),
        both("sigmoid"), message="device=", mistakes={"sigmoid_device_not_kept"})
    add("cpu_only_tanh_derivative_ones", MISTAKE, CPU_ONLY, tanh(
        "return 2 / (1 + torch.exp(-2 * x)) - 1", "return torch.ones(x.shape, dtype=x.dtype) - self(x) ** 2"),
        {"tanh_derivative"}, message="GPU", mistakes={"tanh_device_not_kept"})
    add("cpu_only_dropout_rand", MISTAKE, CPU_ONLY, drop(
        "    mask = (torch.rand(X.shape) > dropout).to(X.dtype)\n    return mask * X / (1.0 - dropout)\n"),
        {"dropout_mask"}, message="torch.rand(X.shape)", mistakes={"dropout_device_not_kept"})
    add("cpu_only_l2_half_on_cpu", MISTAKE, CPU_ONLY, l2("torch.sum(w.pow(2)) * torch.full((1,), 0.5)"), {"l2_value"},
        message="GPU", mistakes={"l2_device_not_kept"})

    # ---------------------------------------------------------------- dtype changes: break the network after it
    add("dtype_sigmoid_double", MISTAKE, DTYPES, sig(
        "return (1 / (1 + torch.exp(-x))).double()", "s = self(x)\n        return s * (1 - s)"),
        both("sigmoid"), message="float64", mistakes={"sigmoid_dtype_not_kept"})
    add("dtype_tanh_float64_constant", MISTAKE, DTYPES, tanh(
        "two = torch.full(x.shape, 2.0, dtype=torch.float64, device=x.device)\n"
        "        return two / (1 + torch.exp(-2 * x)) - 1", "return 1 - self(x) ** 2"), both("tanh"), message="float32",
        mistakes={"tanh_dtype_not_kept"})
    add("dtype_relu_derivative_double", MISTAKE, DTYPES, relu(
        "return torch.maximum(x, torch.zeros_like(x))", "return (x > 0).double()"), {"relu_derivative"},
        message="dtype", mistakes={"relu_dtype_not_kept"})
    add("dtype_dropout_mask_double", MISTAKE, DTYPES, drop(
        "    mask = (torch.rand_like(X) > dropout).double()\n    return mask * X / (1.0 - dropout)\n"),
        {"dropout_stats"}, message="float64", mistakes={"dropout_dtype_not_kept"})

    # ---------------------------------------------------------------- honest forms: every point kept
    add("honest_scalars_and_device_constants", CORRECT, HONEST, {
        **relu("return torch.where(x > 0, x, 0.0)",
               "one = torch.tensor(1.0, device=x.device, dtype=x.dtype)\n"
               "        return torch.where(x > 0, one, torch.tensor(0.0, device=x.device, dtype=x.dtype))"),
        **sig("return 1.0 / (1.0 + torch.exp(-x))", "s = self(x)\n        return s * (1.0 - s)"),
        "tanh_impl": "import math\n\n\nclass MyTanh:\n    TWO = torch.tensor(2.0)  # a constant: a few elements\n\n"
                     "    def __call__(self, x):\n        e = math.e ** (-self.TWO * x)\n        return (1 - e) / (1 + e)\n\n"
                     "    def derivative(self, x):\n        return 1 - self(x) ** 2\n",
        **l2("0.5 * torch.sum(w * w)")})
    add("honest_in_place_and_index_assignment", CORRECT, HONEST, {
        **relu("out = x.clone()\n        out[out < 0] = 0\n        return out",
               "d = torch.zeros_like(x)\n        d[x > 0] = 1\n        return d"),
        **sig("s = 1 + torch.exp(-x)\n        s.reciprocal_()\n        return s",
              "s = self(x)\n        return s.mul(1 - s)"),
        **drop("    keep = torch.empty_like(X).uniform_() > dropout\n    out = X.clone()\n    out[~keep] = 0\n"
               "    out.mul_(1.0 / (1.0 - dropout))\n    return out\n")})
    add("honest_masked_fill_and_clamp_min", CORRECT, HONEST, {
        **relu("return x.masked_fill(x < 0, 0.0)", "return torch.ones_like(x).masked_fill_(x <= 0, 0)"),
        **tanh("e = torch.exp(-2 * x.clamp_min(-40.0))\n        return (1 - e) / (1 + e)",
               "t = self(x)\n        return 1 - t * t"),
        **drop("    mask = torch.bernoulli(torch.full_like(X, 1.0 - dropout))\n    return X * mask / (1.0 - dropout)\n"),
        **l2("w.pow(2).sum() * torch.tensor(0.5, device=w.device)")})
