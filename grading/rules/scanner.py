"""Reading one cell's source: the tampering with the grading kernel, the code the grader cannot read, autograd in
a derivative, patches of libraries, redefined check helpers; each finding as (kind, rule, line, what). The grader
reads the submitted notebook with it (grading/source_rules.py), the advice reads the student's history."""
import ast
import re

from .finding_kinds import UNREADABLE

GRADER_MODULES = ("lab2_probe", "lab2_grader")  # the grader's modules by name: the rules, the feedback's redaction
# tampering: code that changes the grading kernel itself; every test after it scores 0.
# rule -> (attribute or imported names, dotted prefixes, what it does)
TAMPERING = {
    "ipython_hook": (
        {"ast_transformers", "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
         "input_splitter", "showtraceback", "_showtraceback", "showsyntaxerror", "showindentationerror",
         "set_custom_exc", "custom_exceptions", "CustomTB", "InteractiveTB", "SyntaxTB", "set_hook", "run_cell",
         "run_cell_async", "run_ast_nodes", "transform_cell", "transform_ast", "should_run_async",
         "shell_handlers", "user_ns_hidden", "prefilter_manager", "InteractiveShell", "ZMQInteractiveShell"},
        ("ipykernel", "zmq", "jupyter_client", "IPython.core"),
        "改动了 IPython 内核执行单元的流程(钩子、输入/语法树转换器、异常显示或内核本身)"),
    "grader_module": (
        set(GRADER_MODULES), ("sys.modules", "importlib.reload"),
        "读取或改动了评分模块(lab2_probe / lab2_grader / sys.modules)"),
    "frame_walk": (
        {"_getframe", "_current_frames", "currentframe", "getouterframes", "getinnerframes", "f_back", "f_globals",
         "f_locals", "f_builtins", "tb_frame", "tb_next", "gi_frame", "cr_frame", "ag_frame", "walk_stack",
         "walk_tb"},
        ("inspect.stack", "inspect.trace", "inspect.getframeinfo"),
        "沿调用栈访问了其他函数的帧(例如评分程序的变量)"),
    "gc": ({"get_objects", "get_referrers", "get_referents"}, ("gc.callbacks",),
           "通过垃圾回收器查找内核里的其他对象(例如评分程序的对象)"),
    "ctypes": ({"ctypes", "_ctypes", "cffi", "pythonapi"}, ("ctypes", "_ctypes", "cffi"),
               "用 ctypes/cffi 直接读写进程内存"),
    "trace_hook": ({"settrace", "setprofile", "addaudithook"}, ("sys.monitoring",),
                   "设置了跟踪、性能分析或审计钩子,能截获评分时的每一步"),
    "recorder_evasion": (
        {"DisableTorchFunction", "DisableTorchFunctionSubclass", "_DisableTorchDispatch",
         "_disabled_torch_function_impl", "__torch_function__", "__torch_dispatch__", "TorchFunctionMode",
         "TorchDispatchMode", "_pop_mode", "_pop_torch_function_stack", "_push_on_torch_function_stack",
         "_set_torch_function_mode", "_disable_current_modes", "_disable_profiler", "_disable_profiler_legacy",
         "_enable_profiler", "_enable_profiler_legacy", "_prepare_profiler", "record_function", "profiler_legacy"},
        ("torch._C", "torch.overrides", "torch.utils._python_dispatch", "torch.library", "torch.profiler",
         "torch.autograd.profiler", "torch._dispatch"),
        "绕过或改动了评分时记录运算的机制"),
}
# generic attribute names that are tampering only on the shell itself (get_ipython().events, sys.excepthook)
SHELL_ONLY = {"events", "kernel", "run_code", "displayhook", "excepthook", "display_pub", "magic", "ex", "ev"}
SHELL_ROOTS = ("get_ipython()", "IPython", "ipykernel", "sys")
GRADER_TEXT = re.compile("|".join(GRADER_MODULES))
AUTOGRAD_NAMES = {"backward", "autograd", "forward_ad", "make_dual", "unpack_dual", "dual_level", "jvp", "vjp",
                  "jacrev", "jacfwd", "jacobian", "hessian", "hvp", "vhp", "enable_grad", "set_grad_enabled",
                  "requires_grad_", "functorch"}
AUTOGRAD_MODULES = ("torch.func", "torch.autograd", "functorch", "torch._functorch")
PATCHED_MODULES = ("torch", "numpy", "math", "builtins", "sys", "warnings", "IPython", "nbgrader")
VISIBLE_HELPERS = {"rel_error", "check_activation_function"}

# unreadable code: what the grader cannot read goes to a person (every test after it waits for a TA's review)
NAME_BUILTINS = {"getattr", "setattr", "delattr", "hasattr"}      # take an attribute's name as a string (hasattr
# only tests that a name exists: with a name built at run time it fetches nothing)
CODE_BUILTINS = {"exec", "eval", "compile"}                        # take code as a string
AS_VALUE = NAME_BUILTINS | CODE_BUILTINS | {"__import__", "vars", "globals", "locals", "import_module", "attrgetter",
                                           "methodcaller", "getattr_static"}
DYNAMIC_CODE = ("runpy", "marshal.load", "marshal.loads", "pickle.load", "pickle.loads", "dill", "cloudpickle",
                "types.FunctionType", "types.CodeType", "types.LambdaType", "importlib.util", "importlib.machinery",
                "code.InteractiveInterpreter", "code.InteractiveConsole", "code.interact", "imp.load_source")
# code run elsewhere: the recorder sees every thread of the kernel's process while a call runs (recorder.py), not
# another process, nor code that a timer or a fork hook runs at a moment of its own
ELSEWHERE = ("multiprocessing", "torch.multiprocessing", "os.register_at_fork", "signal.setitimer")
MODULES = {"torch", "np", "numpy", "nn", "F", "optim", "math", "sys", "os", "builtins", "__builtins__", "importlib",
           "IPython", "operator", "types", "inspect", "gc", "ctypes", "functools", "itertools", "random", "re", "io",
           "pickle", "marshal", "runpy", "codecs", "base64", "zlib", "binascii", "torchvision", "plt", "matplotlib"}
# magics: which ones hold Python (read like any code), which cannot change the kernel's state; any other is unreadable
PY_LINE_MAGICS, PY_CELL_MAGICS = {"time", "timeit", "prun"}, {"time", "timeit", "capture", "prun"}
SAFE_LINE_MAGICS = {"matplotlib", "config", "pwd", "ls", "who", "whos", "who_ls", "env", "precision", "pinfo", "pinfo2",
                    "psearch", "xmode", "pip", "conda", "cd", "pprint", "lsmagic", "magic", "quickref", "alias",
                    "unalias", "history", "hist", "colors", "automagic", "doctest_mode", "page", "pdef", "pdoc",
                    "psource", "pfile", "dhist", "dirs", "reset", "xdel", "autoreload", "aimport", "system", "sx",
                    "sc", "bookmark", "tb", "env", "set_env", "clear", "killbgscripts", "mkdir", "rmdir", "cat"}
SAFE_CELL_MAGICS = {"writefile", "bash", "sh", "script", "html", "HTML", "javascript", "js", "latex", "markdown", "svg",
                    "perl", "ruby", "file"}
SAFE_EXTENSIONS = {"autoreload", "storemagic"}


def python_source(source):
    """The cell as IPython runs it: %magics and !commands become get_ipython() calls, line for line."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except (SyntaxError, ValueError, IndexError, TypeError, AttributeError):
        return source


def constant_string(node):
    """The string a constant expression builds ('re' + 'lu', ''.join(['re', 'lu']), f'relu'), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = constant_string(node.left), constant_string(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = [constant_string(v) for v in node.values]
        return None if None in parts else "".join(parts)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple))):
        sep, parts = constant_string(node.func.value), [constant_string(e) for e in node.args[0].elts]
        return None if sep is None or None in parts else sep.join(parts)
    return None


def _absent(module):
    """Whether no module of that name is anywhere on this machine's path (a package not installed: its import fails
    and says so), rather than one the submission wrote."""
    import importlib.util
    try:
        return importlib.util.find_spec(module.split(".")[0]) is None
    except (ImportError, ValueError):
        return False


def _installed(module):
    """Whether a top-level module comes with the environment (the standard library or an installed package),
    rather than from a file the submission wrote."""
    import importlib.util
    import sys
    top = module.split(".")[0]
    if not top or top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ()):
        return True
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None) or ""
    locations = list(getattr(spec, "submodule_search_locations", None) or [])
    return spec is not None and any(("site-packages" in p or "dist-packages" in p or "/lib/python" in p)
                                    for p in [origin] + locations)


class _Scanner(ast.NodeVisitor):
    """Collects (kind, rule, line, what) for one cell's tree."""

    def __init__(self, derivative, offset=0, absent_ok=False):
        self.derivative, self.offset, self.aliases, self.modules, self.found = derivative, offset, {}, set(MODULES), []
        self.absent_ok = absent_ok  # scan_source's: a module found nowhere is a package not installed, not unreadable
        self.called = set()  # ids of the nodes that are the function of a call (not a function passed as a value)

    # names: a dotted path with the import it came from
    def dotted(self, node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            parts.append(self.aliases.get(node.id, node.id))
        elif isinstance(node, ast.Call):
            parts.append(self.dotted(node.func) + "()")
        else:
            return ""
        return ".".join(reversed(parts))

    def module_like(self, node):
        """Whether an expression is (or may be) a module or something imported from one, not the student's own object."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Subscript) and self.dotted(node.value) == "sys.modules":
                return True
            node = node.value
        if isinstance(node, ast.Name):
            return node.id in self.modules
        if isinstance(node, ast.Call):
            name = self.dotted(node.func).rsplit(".", 1)[-1]
            return name in ("import_module", "__import__", "get_ipython", "vars", "globals", "locals")
        return False

    def add(self, kind, rule, node, what=""):
        self.found.append((kind, rule, getattr(node, "lineno", 1) + self.offset, what))

    def unreadable(self, rule, node):
        self.add("unreadable_code", rule, node, UNREADABLE[rule])

    def name_used(self, name, dotted, node):
        """One name (an attribute, an imported name, or a constant string given to getattr) and its full path."""
        if self.derivative and (name in AUTOGRAD_NAMES or _under(dotted, AUTOGRAD_MODULES)):
            self.add("autograd", dotted or name, node)
        for rule, (names, prefixes, what) in TAMPERING.items():
            if name in names or _under(dotted, prefixes):
                self.add("tampering", rule, node, what)
        if name in SHELL_ONLY and dotted.startswith(SHELL_ROOTS) and "." in dotted:
            self.add("tampering", "ipython_hook", node, TAMPERING["ipython_hook"][2])
        if any(_under(dotted, (prefix,)) for prefix in DYNAMIC_CODE):
            self.unreadable("dynamic", node)
        if _under(dotted, ELSEWHERE):
            self.unreadable("process", node)

    def imported(self, module, node):
        if not _installed(module) and not (self.absent_ok and _absent(module)):
            self.unreadable("import", node)

    def visit_Import(self, node):
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            self.modules.add(alias.asname or alias.name.split(".")[0])
            self.imported(alias.name, node)
            for i, name in enumerate(alias.name.split(".")):
                self.name_used(name, ".".join(alias.name.split(".")[:i + 1]), node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level == 0:
            self.imported(module, node)
        else:
            self.unreadable("import", node)
        for i, name in enumerate(module.split(".")):
            self.name_used(name, ".".join(module.split(".")[:i + 1]), node)
        for alias in node.names:
            full = f"{module}.{alias.name}" if module else alias.name
            self.aliases[alias.asname or alias.name] = full
            self.modules.add(alias.asname or alias.name)
            self.name_used(alias.name, full, node)

    def visit_Attribute(self, node):
        path = self.dotted(node)
        self.name_used(node.attr, path, node)
        if isinstance(node.ctx, ast.Store):
            self.stored(node)
        if node.attr == "requires_grad" and isinstance(node.ctx, ast.Store) and self.derivative:
            self.add("autograd", "requires_grad", node)
        if node.attr in AS_VALUE and id(node) not in self.called and \
                path.split(".")[0] in ("builtins", "__builtins__", "importlib", "operator", "inspect"):
            self.unreadable("value", node)  # importlib.import_module passed around as a value
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.aliases:  # an imported name: `relu` after `from torch import relu`
            full = self.aliases[node.id]
            self.name_used(full.rsplit(".", 1)[-1], full, node)
            if full.rsplit(".", 1)[-1] in AS_VALUE and id(node) not in self.called:
                self.unreadable("value", node)
        elif node.id in AS_VALUE and isinstance(node.ctx, ast.Load) and id(node) not in self.called:
            self.unreadable("value", node)  # f = getattr; f(torch, name)
        if isinstance(node.ctx, ast.Store) and node.id in VISIBLE_HELPERS:
            self.add("helper_redefined", node.id, node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and GRADER_TEXT.search(node.value):
            self.add("tampering", "grader_module", node, TAMPERING["grader_module"][2])

    def visit_FunctionDef(self, node):
        if node.name in VISIBLE_HELPERS:
            self.add("helper_redefined", node.name, node)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node):
        for target in node.targets:
            self.stored(target)
            if isinstance(target, ast.Name) and self.module_like(node.value):
                self.modules.add(target.id)  # m = torch; m = importlib.import_module('torch')
        self.generic_visit(node)

    def stored(self, target):
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            path = self.dotted(target.value if isinstance(target, ast.Subscript) else target)
            if path.split(".")[0] in PATCHED_MODULES and ("." in path or isinstance(target, ast.Subscript)):
                self.add("monkeypatch", path, target)

    def visit_Subscript(self, node):
        # vars(torch)[name], torch.__dict__[name], globals()[name] with a name built at run time
        holder = node.value
        namespace = isinstance(holder, ast.Call) and self.dotted(holder.func) in ("vars", "globals", "locals")
        if namespace or (isinstance(holder, ast.Attribute) and holder.attr == "__dict__") or \
                self.dotted(holder) == "sys.modules":
            key = constant_string(node.slice)
            if namespace:  # vars(obj) is obj's own names; vars(), globals(), locals() are the kernel's namespace
                of_module = not holder.args or self.module_like(holder.args[0])
            else:
                of_module = isinstance(holder, ast.Subscript) or self.module_like(getattr(holder, "value", holder))
            if key is None and of_module:
                self.unreadable("name", node)
            elif key is not None:
                self.name_used(key, f"{self.dotted(holder)}.{key}", node)
        self.generic_visit(node)

    def visit_keyword(self, node):
        if node.arg == "requires_grad" and self.derivative and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            self.add("autograd", "requires_grad", node.value)
        self.generic_visit(node)

    def visit_Call(self, node):
        self.called.add(id(node.func))
        path = self.dotted(node.func)
        path = path[len("builtins."):] if path.startswith("builtins.") else path
        name = path.rsplit(".", 1)[-1]
        if name in ("setattr", "delattr") and node.args and self.dotted(node.args[0]).split(".")[0] in PATCHED_MODULES:
            self.add("monkeypatch", self.dotted(node.args[0]), node)
        if name in NAME_BUILTINS and len(node.args) >= 2 and "." not in path:
            attr = constant_string(node.args[1])
            if attr is not None:
                self.name_used(attr, f"{self.dotted(node.args[0])}.{attr}", node)
            elif name != "hasattr" and self.module_like(node.args[0]):
                self.unreadable("name", node)  # getattr(torch, name): what it fetches cannot be read
        elif name in CODE_BUILTINS and "." not in path and node.args:
            self.code(constant_string(node.args[0]), node)
        elif name in ("__import__", "import_module") and node.args:
            module = constant_string(node.args[0])
            if module is None:
                self.unreadable("import", node)
            else:
                self.imported(module, node)
                for i, part in enumerate(module.split(".")):
                    self.name_used(part, ".".join(module.split(".")[:i + 1]), node)
        elif name in ("attrgetter", "methodcaller", "getattr_static") and node.args:
            attr = constant_string(node.args[-1] if name == "getattr_static" else node.args[0])
            if attr is None:
                self.unreadable("name", node)
            else:
                self.name_used(attr.rsplit(".", 1)[-1], attr, node)
        elif name in ("vars", "globals", "locals") and "." not in path:
            pass  # read by visit_Subscript when indexed; alone it names nothing
        elif path.endswith("get_ipython().run_line_magic") or path.endswith("get_ipython().run_cell_magic"):
            self.magic(node, cell=path.endswith("cell_magic"))
        elif path.startswith("get_ipython().") and name in ("ex", "ev", "magic", "safe_execfile", "safe_run_module",
                                                             "runcode", "run_cell_magic", "run_line_magic"):
            self.unreadable("exec", node)
        elif name == "__getattribute__" and len(node.args) >= 2 and constant_string(node.args[1]) is None \
                and self.module_like(node.args[0]):
            self.unreadable("name", node)
        self.generic_visit(node)

    def code(self, text, node):
        """exec('...') is that code; code built at run time cannot be read."""
        if text is None:
            self.unreadable("exec", node)
            return
        for kind, rule, _, what in scan_source(text, self.derivative, absent_ok=self.absent_ok):
            self.found.append(("unreadable_code", "exec", node.lineno + self.offset, UNREADABLE["exec"])
                              if kind == "syntax" else (kind, rule, node.lineno + self.offset, what))

    def magic(self, node, cell):
        args = [constant_string(a) for a in node.args]
        name = args[0] if args else None
        if name is None or (cell and len(args) < 3):
            self.unreadable("magic", node)
        elif cell and name in PY_CELL_MAGICS:
            self.code_at(args[2], node, offset=node.lineno + self.offset)  # the body starts on the cell's line 2
        elif not cell and name in PY_LINE_MAGICS:
            self.code_at(re.sub(r"^(\s*-[nrpo]\s*\S+|\s*-[tcqd])*\s*", "", args[1] or ""), node,
                         offset=node.lineno + self.offset - 1)
        elif not cell and name == "load_ext":
            if (args[1] or "").strip() not in SAFE_EXTENSIONS:
                self.unreadable("magic", node)
        elif name not in (SAFE_CELL_MAGICS if cell else SAFE_LINE_MAGICS):
            self.unreadable("magic", node)

    def code_at(self, text, node, offset):
        if text is None:
            self.unreadable("magic", node)
            return
        for kind, rule, line, what in scan_source(text, self.derivative, offset, self.absent_ok):
            self.found.append(("unreadable_code", "magic", node.lineno + self.offset, UNREADABLE["magic"])
                              if kind == "syntax" else (kind, rule, line, what))


def _under(dotted, prefixes):
    return bool(dotted) and any(dotted == p or dotted.startswith(p + ".") for p in prefixes)


def scan_source(source, derivative=False, offset=0, absent_ok=False):
    """[(kind, rule, line, what)] for one cell's source (lines of the cell); ('syntax', ...) when it does not
    parse. `derivative`: the cell is the answer cell of a part whose code holds a derivative (no autograd there).
    `absent_ok` (the advice, on the student's machine): the import of a module that is nowhere on the path is a
    package not installed there, which that import itself says, not code the grader cannot read; the grader reads
    every import as its own venv has it."""
    try:
        tree = ast.parse(python_source(source))
    except (SyntaxError, ValueError) as err:
        return [("syntax", "syntax_error", (getattr(err, "lineno", 1) or 1) + offset, f"语法错误:{err}")]
    except (RecursionError, MemoryError):
        return [("unreadable_code", "too_deep", 1 + offset, UNREADABLE["too_deep"])]
    scanner = _Scanner(derivative, offset, absent_ok)
    try:
        scanner.visit(tree)
    except RecursionError:
        return [("unreadable_code", "too_deep", 1 + offset, UNREADABLE["too_deep"])]
    return scanner.found
