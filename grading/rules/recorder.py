"""Records what student code runs in one test: per call, the torch functions it called (with counts), the aten
ops it ran and whether autograd's engine ran.

Loaded three ways, so it imports nothing of the course: by the grader (grading.rules.recorder), by the probe inside
the kernel (grading/lab2_probe.py, from its private copy), and in the notebook's rules cell (the advice).
"""
import warnings

import torch
from torch.autograd import profiler as _profiler
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

ENGINE, RECORDER_STOPPED = "autograd::engine", "recorder_stopped"  # pseudo-ops: autograd's engine ran; the recording was cut


class _TorchFunctionCounts(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.counts = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


class _AtenOps(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls):  # nothing is compiled here; wrapping for dynamo would import it (1.6 s)
        return False

    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(func._schema.name.split("::")[-1])
        return func(*args, **(kwargs or {}))


class Recorder:
    """Records the student's calls of one test: per call, the torch functions it called (with counts), the aten ops
    it ran and whether autograd's engine ran. Two recorders: torch's Python modes, and torch's own profiler, which
    records every aten op below the Python modes (the student's Python cannot switch those off unseen: a profiler
    stopped in the middle marks every call RECORDER_STOPPED).

        with Recorder(token) as rec:
            result = rec.call(fn, args)     # {"out" | "error", "funcs", "warnings"}
        rec.ops(0)                          # the aten ops of the first call, after the block
    """

    def __init__(self, token="lab2"):
        self.marker, self.calls, self.stopped, self._events = f"lab2-call-{token}-", [], False, []

    def __enter__(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._prof = _profiler_class()(use_cuda=False)
            self._prof.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._prof.__exit__(None, None, None)
                self._events = list(self._prof.function_events)
        except (RuntimeError, AssertionError, AttributeError):  # the profiler was stopped by the code under test
            self.stopped = True
        return False

    def call(self, fn, args):
        funcs, aten = _TorchFunctionCounts(), _AtenOps()
        result = {"error": None, "out": None}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with _record_function(self.marker + str(len(self.calls))), funcs, aten:
                    result["value"] = fn(*args)
            except (Exception, SystemExit) as err:  # KeyboardInterrupt (a timeout) goes on up
                result["error"] = {"type": type(err).__name__, "message": str(err)[:300]}
        self.calls.append(aten.names)
        result["funcs"] = funcs.counts
        result["warnings"] = [f"{w.category.__name__}: {w.message}"[:300] for w in caught]
        return result

    def ops(self, index):
        """The aten ops call `index` ran (both recorders), with ENGINE when autograd's engine ran in it."""
        names = set(self.calls[index])
        if self.stopped:
            return sorted(names | {RECORDER_STOPPED})
        marker = self.marker + str(index)
        for event in self._events:
            if event.name != marker:
                continue
            stack = list(event.cpu_children)
            while stack:
                child = stack.pop()
                stack.extend(child.cpu_children)
                if child.name.startswith("aten::"):
                    names.add(child.name[len("aten::"):])
                elif child.name.startswith("autograd::engine"):
                    names.add(ENGINE)
        return sorted(names)


_legacy = getattr(torch.autograd, "profiler_legacy", None)  # quiet and cheaper than Kineto on a CPU
_PROFILE = _legacy.profile if _legacy is not None else _profiler.profile  # taken when this file loads, as is
_record_function = _profiler.record_function                               # the marker of each call


def _profiler_class():
    return _PROFILE
