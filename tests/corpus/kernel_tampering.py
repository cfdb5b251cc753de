"""Tricks against the kernel: each is a cell of its own before the first answer (or code in an answer cell),
with the mistakes of kit.wrong. The points are decided outside the kernel, so none of them can pay; each is
also a grading fact (every test after it scores 0) named in the integrity report."""
from .kit import TRICK, WRONG_CELLS

ORDER = 80


def variants(kit):
    add, wrong = kit.add, kit.wrong
    wrong_cells = WRONG_CELLS
    def kernel_trick(name, code, reported, in_answer=False, mistakes=()):
        answers = dict(wrong, relu_impl=wrong["relu_impl"] + "\n" + code) if in_answer else wrong
        add(name, TRICK, answers, wrong_cells, may_fail_anywhere=True, reported=reported,
            extra_cell="" if in_answer else code, mistakes=mistakes)

    hook = "tampering with the grading kernel (ipython_hook"
    # input transformers: every later cell that mentions a test becomes `pass`
    kernel_trick("trick_input_transformer_cleanup", """
def _skip_tests(lines):
    text = ''.join(lines)
    return ['pass\\n'] if 'assert' in text or 'check(' in text else lines
get_ipython().input_transformers_cleanup.append(_skip_tests)
""", hook)
    kernel_trick("trick_input_transformer_post", """
ip = get_ipython()
ip.input_transformers_post.append(lambda lines: [l for l in lines if 'lab2' not in l and 'assert' not in l])
""", hook)
    kernel_trick("trick_input_transformer_manager", """
from IPython import get_ipython as shell
manager = shell().input_transformer_manager
manager.cleanup_transforms.insert(0, lambda lines: ['pass\\n'] if any('check' in l for l in lines) else lines)
""", hook)
    kernel_trick("trick_input_transformer_by_built_name", """
getattr(get_ipython(), 'input_' + 'transformers_' + 'cleanup').append(
    lambda lines: ['pass\\n'] if any('assert' in l or 'check' in l for l in lines) else lines)
""", hook)
    # AST transformers: every later cell runs inside try/except, asserts and checks removed
    kernel_trick("trick_ast_transformer_try_except", """
import ast
class _Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name('BaseException', ast.Load()), name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_Swallow())
""", hook)
    kernel_trick("trick_ast_transformer_drop_checks", """
import ast
class _DropChecks(ast.NodeTransformer):
    def visit_Assert(self, node):
        return None
    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call) and getattr(call.func, 'attr', '') == 'check':
            return None
        return node
get_ipython().ast_transformers.insert(0, _DropChecks())
""", hook)
    kernel_trick("trick_ast_transformer_in_answer", """
import ast as _ast
_shell = get_ipython()
_shell.ast_transformers.append(type('T', (_ast.NodeTransformer,), {'visit_Assert': lambda self, node: None})())
""", hook, in_answer=True)
    # silenced errors: no traceback shown, the recorded error cleared
    kernel_trick("trick_silence_showtraceback", """
ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
def _clear(result):
    result.error_in_exec = None
ip.events.register('post_run_cell', _clear)
""", hook)
    kernel_trick("trick_custom_exception_handler", """
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
""", hook)
    kernel_trick("trick_private_showtraceback", """
shell = get_ipython()
shell._showtraceback = lambda *args, **kwargs: None
shell.events.register('post_execute', lambda: None)
""", hook)
    # the grader's module in the kernel (the probe): replaced, patched, shadowed
    grader = "tampering with the grading kernel (grader_module"
    kernel_trick("trick_replace_probe_check", """
import sys
sys.modules['lab2_probe'].check = lambda *args, **kwargs: None
""", grader)
    kernel_trick("trick_probe_inputs_all_zero", """
import lab2_probe
lab2_probe.materialize = lambda spec: torch.zeros(spec.get('shape') or [spec['n']], dtype=torch.float64)
""", grader)
    kernel_trick("trick_shadow_probe_module", """
import sys
sys.modules.pop('lab2' + '_probe', None)
with open('lab2' + '_probe.py', 'w') as f:
    f.write('def check(*args, **kwargs):\\n    pass\\n')
""", grader)
    kernel_trick("trick_probe_publishes_nothing", """
import importlib
probe = importlib.import_module('lab2_probe')
probe._publish = lambda text, packed: None
""", grader, in_answer=True, mistakes={"no_probe_data"})
    kernel_trick("trick_probe_message_without_its_npz", """
import importlib
from IPython.display import publish_display_data
probe = importlib.import_module('lab2_probe')
probe._publish = lambda text, packed: publish_display_data({probe.MIME: text})
""", grader, in_answer=True, mistakes={"probe_data_invalid"})
    # frame walking: from the student's own function up into the caller (the probe) and its globals
    frames = "tampering with the grading kernel (frame_walk"
    kernel_trick("trick_frame_walk_globals", """
import sys
_original = MyReLU.__call__
def _walk(self, x):
    frame = sys._getframe(1)
    while frame is not None:
        if 'materialize' in frame.f_globals:
            frame.f_globals['digest'] = lambda tensor: 'same'
        frame = frame.f_back
    return _original(self, x)
MyReLU.__call__ = _walk
""", frames, in_answer=True, mistakes={"forward_modifies_input", "l2_modifies_input"})
    kernel_trick("trick_frame_walk_inspect_stack", """
import inspect
_original = MyReLU.derivative
def _derivative(self, x):
    for info in inspect.stack():
        if 'plan' in info.frame.f_locals:
            info.frame.f_locals['plan']['cases'] = []
    return _original(self, x)
MyReLU.derivative = _derivative
""", frames, in_answer=True)
    kernel_trick("trick_frame_walk_traceback", """
def _caller_globals():
    try:
        raise RuntimeError
    except RuntimeError as err:
        return err.__traceback__.tb_frame.f_back.f_globals
_caller_globals()['rel_error'] = lambda a, b: 0.0
""", frames)
    kernel_trick("trick_gc_finds_the_probe", """
import gc
for obj in gc.get_objects():
    if isinstance(obj, dict) and 'MIME' in obj and 'collect' in obj:
        obj['collect'] = lambda plan, objects: ({'token': plan['token'], 'grade_id': plan['grade_id']}, {})
""", "tampering with the grading kernel (gc", mistakes={"probe_data_invalid"})
    kernel_trick("trick_trace_hook", """
import sys
sys.settrace(lambda frame, event, arg: None)
""", "tampering with the grading kernel (trace_hook")
    kernel_trick("trick_disable_op_recorder", """
torch._C._set_torch_function_mode = None
""", "tampering with the grading kernel (recorder_evasion")
