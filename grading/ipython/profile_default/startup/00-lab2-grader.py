# Runs in every kernel that nbgrader starts for this course, before the first notebook cell:
# loads the hidden tests' checks while torch and builtins are still untouched.
def _lab2_load_grader():
    import importlib.util
    import os
    import sys
    import warnings

    # stderr and warnings go to stdout: nbgrader gives 0 to a test cell that wrote anything to
    # stderr, and a warning or a debug print from correct code (torch 2.14 warns on float() of a
    # tensor that requires grad) must not cost points. A failing test still raises.
    def _show(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = _show
    sys.stderr = sys.stdout
    path = os.environ.get("LAB2_GRADER")
    if path and os.path.exists(path):
        spec = importlib.util.spec_from_file_location("lab2_grader", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["lab2_grader"] = module
        spec.loader.exec_module(module)
    private = os.environ.get("LAB2_PRIVATE")
    if private:  # in the grading sandbox: the checks are loaded, take their source away
        import shutil
        shutil.rmtree(private, ignore_errors=True)


_lab2_load_grader()
del _lab2_load_grader
