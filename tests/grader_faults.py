"""Fault injection into the grading process (tests/test_fault_injection.py), loaded by a line that the test adds to
its course copy's nbgrader_config.py; it changes no file of grading/ and runs only in the nbgrader process.

One nbgrader autograde run grades several copies of one submission. Per student, around nbgrader's own
Autograde.convert_single_notebook (sanitize, then SafeExecute and the rest of the chain), a profile hook
(sys.setprofile) watches the calls of the course's own code (grading/ and course.py):

- LAB2_FAULTS=trace:<student>:<out.json>: writes every function of that code that ran while <student> was graded
  (file, qualified name, first line), in the order of its first call;
- LAB2_FAULTS=inject:<plan.json>: plan.json maps a student to one such function; when that student is graded, the
  function's first call raises InjectedFault at its entry, as a bug in its first line would (CPython turns the
  hook off once it raised). <plan.json>.fired lists the students whose function did run.
"""
import json
import os
import sys
import threading

from nbgrader.converters.autograde import Autograde

WATCHED = ()  # the grading/ folder and the course.py this process imported (set by install)


def watched():
    """Where the grader's code that runs here lives: the course's grading/ (in a worker of tools/autograde_parallel.py,
    through its private course's link) and the course.py this process imported."""
    import course
    import grading
    return os.path.dirname(os.path.abspath(grading.__file__)) + os.sep, os.path.abspath(course.__file__)


class InjectedFault(KeyError):
    """The injected bug: a KeyError, as a dictionary lookup in the grader's own code raises it."""


def key(code):
    """A function as the same [file, qualified name, first line] wherever its course folder lies."""
    grading, course = WATCHED
    name = "course.py" if code.co_filename == course else os.path.join("grading", code.co_filename[len(grading):])
    return [name, code.co_qualname, code.co_firstlineno]


def ours(code):
    """A function of the course's code (comprehensions and generator expressions belong to their function)."""
    return code.co_filename.startswith(WATCHED) and not code.co_name.startswith(("<module>", "<listcomp>", "<genexpr>",
                                                                                    "<setcomp>", "<dictcomp>"))


def student_of(filename):
    parts = os.path.normpath(filename).split(os.sep)
    return parts[parts.index("submitted") + 1] if "submitted" in parts else None


def watching(hook):
    sys.setprofile(hook)
    threading.setprofile(hook)


def stop():
    sys.setprofile(None)
    threading.setprofile(None)


def install():
    """Wrap nbgrader's Autograde.convert_single_notebook once (nbgrader reads its config more than once)."""
    if getattr(Autograde, "lab2_faults", False):
        return
    Autograde.lab2_faults = True
    global WATCHED
    WATCHED = watched()
    mode, _, arg = os.environ["LAB2_FAULTS"].partition(":")
    convert = Autograde.convert_single_notebook

    if mode == "trace":
        student, out = arg.split(":", 1)
        seen = {}

        def hook(frame, event, _):
            if event == "call" and frame.f_code not in seen and ours(frame.f_code):
                seen[frame.f_code] = key(frame.f_code)

        def traced(self, filename):
            if student_of(filename) != student:
                return convert(self, filename)
            watching(hook)
            try:
                return convert(self, filename)
            finally:
                stop()
                with open(out, "w", encoding="utf-8") as f:
                    json.dump(list(seen.values()), f)
        Autograde.convert_single_notebook = traced
    elif mode == "inject":
        with open(arg, encoding="utf-8") as f:
            plan = json.load(f)
        fired = arg + ".fired"

        def injected(self, filename):
            target = plan.get(student_of(filename))
            if target is None:
                return convert(self, filename)
            target = tuple(target)
            student = student_of(filename)

            def hook(frame, event, _):
                if event == "call" and ours(frame.f_code) and tuple(key(frame.f_code)) == target:
                    with open(fired, "a", encoding="utf-8") as f:
                        f.write(student + "\n")
                    raise InjectedFault(f"injected into {target[1]}")
            watching(hook)
            try:
                return convert(self, filename)
            finally:
                stop()
        Autograde.convert_single_notebook = injected
    else:
        raise ValueError(f"LAB2_FAULTS: unknown mode {mode!r}")
