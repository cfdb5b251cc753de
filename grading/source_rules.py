"""What a submission's code does, read from its syntax tree in the grading process (never in the kernel).

Every code cell a student can edit (the answer cells and any cell they added) is parsed; what it
names decides:

- library_op: an answer cell names its part's ready-made implementation (torch.relu, nn.Sigmoid, F.dropout, ...):
  that part scores 0 (grading/safe_execute.py, with the grader's message);
- autograd: an activation's answer cell uses autograd (reverse or forward mode, torch.func, functorch, aliases):
  its derivative test scores 0;
- tampering: code that changes the grading kernel itself (IPython hooks and transformers, the exception display,
  the grader's module, stack frames, gc, ctypes, trace hooks, the op recorder): every test after that cell scores 0;
- hidden_call, risky, monkeypatch, helper_redefined: code that hides what it calls (getattr with a built string,
  exec, __import__, ...), reaches outside, or patches libraries: listed in the integrity report, no points lost.

Names are resolved through imports (`from torch import relu as r`, `import torch.autograd as ag`), constant
strings are followed into getattr/exec, and IPython syntax (%magics, !commands) is parsed as IPython runs it.
"""
import ast
import re
from dataclasses import dataclass

import course
from grading import parts

# ---------------------------------------------------------------- the rules
LIBRARY = {p.name: p.library_names for p in parts.PARTS if p.library_names}  # a part's own ready-made implementation
DERIVATIVE_PARTS = tuple(p.name for p in parts.PARTS if p.derivative)
AUTOGRAD_NAMES = {"backward", "autograd", "forward_ad", "make_dual", "unpack_dual", "dual_level", "jvp", "vjp",
                  "jacrev", "jacfwd", "jacobian", "hessian", "hvp", "vhp", "enable_grad", "set_grad_enabled",
                  "requires_grad_", "functorch"}
AUTOGRAD_MODULES = ("torch.func", "torch.autograd", "functorch", "torch._functorch")

# rule -> (attribute or imported names, dotted prefixes, what it does)
TAMPERING = {
    "ipython_hook": (
        {"ast_transformers", "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
         "input_splitter", "events", "showtraceback", "_showtraceback", "showsyntaxerror", "showindentationerror",
         "set_custom_exc", "custom_exceptions", "CustomTB", "InteractiveTB", "SyntaxTB", "set_hook", "run_cell",
         "run_cell_async", "run_ast_nodes", "run_code", "transform_cell", "transform_ast", "should_run_async",
         "display_pub", "displayhook", "excepthook", "kernel", "shell_handlers", "user_ns_hidden",
         "prefilter_manager", "InteractiveShell", "ZMQInteractiveShell"},
        ("ipykernel", "zmq", "jupyter_client", "IPython.core"),
        "改动了 IPython 内核执行单元的流程(钩子、输入/语法树转换器、异常显示或内核本身)"),
    "grader_module": (
        {"lab2_probe", "lab2_grader"}, ("sys.modules", "importlib.reload"),
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
         "_set_torch_function_mode"},
        ("torch._C", "torch.overrides", "torch.utils._python_dispatch", "torch.library"),
        "绕过或改动了评分时记录所用 torch 函数的机制"),
}
GRADER_TEXT = re.compile(r"lab2_probe|lab2_grader")
PATCHED_MODULES = ("torch", "numpy", "math", "builtins", "sys", "warnings", "IPython", "nbgrader")
VISIBLE_HELPERS = {"rel_error", "check_activation_function"}
# calls that take a name (or code) as a string: builtins, or these module functions
COMPUTED = {"getattr", "setattr", "delattr", "hasattr", "__import__", "exec", "eval", "compile", "globals", "locals",
            "vars", "operator.attrgetter", "operator.methodcaller", "importlib.import_module"}
RISKY = {"os._exit": "ends the kernel", "os.fork": "forks the kernel", "os.kill": "sends signals",
         "os.system": "runs a shell command", "subprocess": "starts processes", "socket": "opens a network connection",
         "urllib": "opens a network connection", "requests": "opens a network connection",
         "sqlite3": "opens a database", "shutil.rmtree": "deletes folders", "os.remove": "deletes files",
         "os.chmod": "changes permissions", "gradebook": "names the gradebook"}


@dataclass(frozen=True)
class Finding:
    kind: str        # library_op | autograd | tampering | hidden_call | risky | monkeypatch | helper_redefined | syntax
    rule: str        # a stable id: the rule, or the name it matched
    cell: int        # index of the cell in the notebook (0-based)
    line: int        # line in the cell (1-based)
    code: str        # that line
    what: str        # what it does, in Chinese
    part: str = ""   # the graded part whose answer cell it is in

    @property
    def where(self):
        return f"第 {self.cell + 1} 个单元第 {self.line} 行"

    def as_dict(self):
        return {"kind": self.kind, "rule": self.rule, "cell": self.cell, "line": self.line, "code": self.code,
                "what": self.what, "part": self.part}


# ---------------------------------------------------------------- reading one cell
def python_source(source):
    """The cell as IPython runs it: %magics and !commands become get_ipython() calls, line for line."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def _fold(node):
    """The string a constant expression builds ('re' + 'lu', ''.join(['re', 'lu']), f'relu'), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _fold(node.left), _fold(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = [_fold(v) for v in node.values]
        return None if None in parts else "".join(parts)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple))):
        sep, parts = _fold(node.func.value), [_fold(e) for e in node.args[0].elts]
        return None if sep is None or None in parts else sep.join(parts)
    return None


class _CellScanner(ast.NodeVisitor):
    """Collects (kind, rule, line, what) for one cell's tree."""

    def __init__(self, part):
        self.part, self.aliases, self.found = part, {}, []

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

    def add(self, kind, rule, node, what=""):
        self.found.append((kind, rule, getattr(node, "lineno", 1), what))

    def name_used(self, name, dotted, node):
        """One name (an attribute, an imported name, or a constant string given to getattr) and its full path."""
        if self.part in LIBRARY and name in LIBRARY[self.part]:
            self.add("library_op", dotted or name, node)
        if self.part in DERIVATIVE_PARTS and (name in AUTOGRAD_NAMES or _under(dotted, AUTOGRAD_MODULES)):
            self.add("autograd", dotted or name, node)
        for rule, (names, prefixes, what) in TAMPERING.items():
            if name in names or _under(dotted, prefixes):
                self.add("tampering", rule, node, what)

    def visit_Import(self, node):
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            for i, name in enumerate(alias.name.split(".")):
                self.name_used(name, ".".join(alias.name.split(".")[:i + 1]), node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for i, name in enumerate(module.split(".")):
            self.name_used(name, ".".join(module.split(".")[:i + 1]), node)
        for alias in node.names:
            full = f"{module}.{alias.name}" if module else alias.name
            self.aliases[alias.asname or alias.name] = full
            self.name_used(alias.name, full, node)

    def visit_Attribute(self, node):
        self.name_used(node.attr, self.dotted(node), node)
        if isinstance(node.ctx, ast.Store):
            self.stored(node)
        if node.attr == "requires_grad" and isinstance(node.ctx, ast.Store) and self.part in DERIVATIVE_PARTS:
            self.add("autograd", "requires_grad", node)
        if node.attr in ("__dict__", "__getattribute__"):
            self.add("hidden_call", node.attr, node)
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.aliases:  # an imported name: `relu` after `from torch import relu`
            full = self.aliases[node.id]
            self.name_used(full.rsplit(".", 1)[-1], full, node)
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
        self.generic_visit(node)

    def stored(self, target):
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            path = self.dotted(target.value if isinstance(target, ast.Subscript) else target)
            if path.split(".")[0] in PATCHED_MODULES and ("." in path or isinstance(target, ast.Subscript)):
                self.add("monkeypatch", path, target)

    def visit_keyword(self, node):
        if node.arg == "requires_grad" and self.part in DERIVATIVE_PARTS and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            self.add("autograd", "requires_grad", node.value)
        self.generic_visit(node)

    def visit_Call(self, node):
        path = self.dotted(node.func)
        path = path[len("builtins."):] if path.startswith("builtins.") else path
        name = path.rsplit(".", 1)[-1]
        if path in COMPUTED:
            self.computed(name, node)
        if name in ("setattr", "delattr") and node.args:
            path = self.dotted(node.args[0])
            if path.split(".")[0] in PATCHED_MODULES:
                self.add("monkeypatch", path, node)
        self.generic_visit(node)

    def computed(self, name, node):
        """getattr(obj, 'relu') is the attribute relu; exec('...') is that code; a name built at run time hides
        what it calls."""
        if name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2:
            attr = _fold(node.args[1])
            if attr is None:
                self.add("hidden_call", name, node)
            else:
                self.name_used(attr, f"{self.dotted(node.args[0])}.{attr}", node)
        elif name in ("exec", "eval", "compile") and node.args:
            code = _fold(node.args[0])
            if code is None:
                self.add("hidden_call", name, node)
            else:
                for kind, rule, _, what in scan_source(code, self.part):
                    self.found.append(("hidden_call", name, node.lineno, "") if kind == "syntax" else
                                      (kind, rule, node.lineno, what))
        elif name in ("__import__", "import_module") and node.args:
            module = _fold(node.args[0])
            if module is None:
                self.add("hidden_call", name, node)
            else:
                for i, part in enumerate(module.split(".")):
                    self.name_used(part, ".".join(module.split(".")[:i + 1]), node)
        elif name in ("globals", "locals", "vars", "attrgetter", "methodcaller"):
            self.add("hidden_call", name, node)


def _under(dotted, prefixes):
    return bool(dotted) and any(dotted == p or dotted.startswith(p + ".") for p in prefixes)


def scan_source(source, part=""):
    """[(kind, rule, line, what)] for one cell's source; ('syntax', ...) when it does not parse."""
    try:
        tree = ast.parse(python_source(source))
    except (SyntaxError, ValueError) as err:
        return [("syntax", "syntax_error", getattr(err, "lineno", 1) or 1, f"语法错误:{err}")]
    scanner = _CellScanner(part)
    scanner.visit(tree)
    return scanner.found


# ---------------------------------------------------------------- reading a notebook
def student_cells(nb):
    """(index, part) of every code cell the student controls: answer cells (part from the grade id) and cells
    without nbgrader metadata (added by the student, or unlocked release cells). Locked cells are put back from
    the master by nbgrader before grading."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = course.meta(cell)
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            continue
        part = course.part(meta.get("grade_id", "")) if meta.get("solution") else ""
        yield index, part


_DESCRIBE = {"library_op": "用了这一部分要求自己实现的库函数", "autograd": "在导数里用了自动求导",
             "hidden_call": "用运行时拼出的名字调用(看不出调用了什么)", "monkeypatch": "改动了库或内置函数",
             "helper_redefined": "重新定义了测试用的辅助函数"}


def scan_notebook(nb, cells=None):
    """Findings for the student's code cells (only those in `cells`, when given), in notebook order."""
    findings = []
    for index, part in student_cells(nb):
        if cells is not None and index not in cells:
            continue
        source = nb.cells[index].source
        lines = python_source(source).splitlines() or [""]
        seen = set()
        for kind, rule, line, what in scan_source(source, part):
            key = (kind, rule, line)
            if key in seen:
                continue
            seen.add(key)
            code = lines[min(max(line, 1), len(lines)) - 1].strip()[:200]
            findings.append(Finding(kind, rule, index, line, code, what or _DESCRIBE.get(kind, ""), part))
        for number, text in enumerate(source.splitlines(), 1):
            for token, why in RISKY.items():
                if re.search(rf"(?<![\w.]){re.escape(token)}\b", text):
                    findings.append(Finding("risky", token, index, number, text.strip()[:200], why, part))
                    break
    return findings
