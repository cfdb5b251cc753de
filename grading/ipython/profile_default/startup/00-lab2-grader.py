# Runs in every kernel that nbgrader starts for this course, before the first notebook cell:
# loads the hidden tests' checks while torch and builtins are still untouched.
def _lab2_load_grader():
    import importlib.util
    import os
    import sys
    import warnings

    # Warnings go to stdout: nbgrader gives 0 to a test cell that wrote anything to stderr, and a
    # warning from correct code (torch 2.14 warns on float() of a tensor that requires grad) must
    # not cost points.
    def _show(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = _show
    path = os.environ.get("LAB2_GRADER")
    if path and os.path.exists(path):
        spec = importlib.util.spec_from_file_location("lab2_grader", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["lab2_grader"] = module
        spec.loader.exec_module(module)


_lab2_load_grader()
del _lab2_load_grader
