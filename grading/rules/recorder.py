"""Records what student code runs in one test: per call, the torch functions it called (with counts), the aten
ops it ran and whether autograd's engine ran, in whatever thread of the kernel's process it ran.

Loaded three ways, so it imports nothing of the course: by the grader (grading.rules.recorder), by the probe inside
the kernel (grading/lab2_probe.py, from its private copy), and in the notebook's rules cell (the advice).

The grader's torch (requirements.txt) has everything used here. The advice runs on the student's torch, which may be
older: what that torch lacks is listed in UNAVAILABLE (what cannot be recorded, and the torch that can), and only a
Recorder made with partial=True (the advice's) records without it; any other refuses to start.
"""
import os
import warnings
from bisect import bisect_left, bisect_right
from typing import NamedTuple

import torch
from torch._C._profiler import _ExperimentalConfig
from torch.autograd import profiler as _profiler
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

try:
    from torch.utils._pytree import tree_leaves as _leaves
except ImportError:  # torch < 2.2 has only tree_flatten
    from torch.utils._pytree import tree_flatten as _flatten

    def _leaves(tree):
        return _flatten(tree)[0]

ENGINE, RECORDER_STOPPED = "autograd::engine", "recorder_stopped"  # pseudo-ops: autograd's engine ran; the recording was cut
FEW = 16  # a tensor of at most this many elements from outside the call is a constant (a scalar, a small table of
# coefficients); a larger one is state from outside: a table, a cache or a stored result
OUTSIDE_SHOWN = 3  # outside tensors described per call
_Tensor = torch.Tensor


class _TorchFunctionCounts(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.counts = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


def _storage(t):
    """Where a tensor's elements live (views, .data and in-place results share it), or None where that cannot be read
    (the meta device, tensors without storage)."""
    try:
        return t.untyped_storage().data_ptr() or None
    except (RuntimeError, NotImplementedError, TypeError, AttributeError):
        return None


def _describe(t):
    return {"shape": [int(s) for s in t.shape], "dtype": str(t.dtype).replace("torch.", ""), "numel": int(t.numel())}


class _AtenOps(TorchDispatchMode):
    """The aten ops of one call and the tensors it read from outside: a tensor of more than FEW elements that is
    neither one of the call's inputs nor made by an op of the call (a table built beforehand, a cache, a stored result,
    a tensor made in another thread: the Python modes are the calling thread's)."""

    @classmethod
    def _should_skip_dynamo(cls):  # nothing is compiled here; wrapping for dynamo would import it (1.6 s)
        return False

    def __init__(self, inputs=()):
        super().__init__()
        self.names, self.outside, self._kept = set(), [], []  # _kept: the call's tensors, alive until it ends
        self._known = set()
        for t in inputs:
            self.know(t)

    def know(self, t):
        if isinstance(t, _Tensor):
            self._kept.append(t)
            self._known.add(_storage(t))

    def read(self, t):
        """A tensor the call reads (an op's argument, or what it returns): noted when it comes from outside."""
        if isinstance(t, _Tensor) and t.numel() > FEW:
            where = _storage(t)
            if where is not None and where not in self._known:
                self._known.add(where)  # described once
                if len(self.outside) < OUTSIDE_SHOWN:
                    self.outside.append(_describe(t))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        namespace, _, name = func._schema.name.rpartition("::")
        if namespace != "profiler":  # a marker of a recorder (another one's, nested in this one), not a computation
            self.names.add(name)
        for t in _leaves((args, kwargs or {})):
            self.read(t)
        out = func(*args, **(kwargs or {}))
        for t in _leaves(out):
            self.know(t)
        return out


class Recorder:
    """Records the student's calls of one test: per call, the torch functions it called (with counts), the aten ops
    it ran and whether autograd's engine ran. Two recorders: torch's Python modes, in the calling thread, and torch's
    own profiler, which records every aten op below the Python modes in every thread of the process (its callbacks
    are global: threading, concurrent.futures, _thread, torch.jit.fork and C++ threads alike). An op of another
    thread belongs to the call it ran during. The student's Python cannot switch the profiler off unseen: a profiler
    stopped in the middle marks every call RECORDER_STOPPED.

        with Recorder(token) as rec:
            result = rec.call(fn, args)     # {"out" | "error", "funcs", "warnings"}
        rec.ops(0)                          # the aten ops of the first call, after the block
    """

    def __init__(self, token="lab2", partial=False):
        """partial: record what this torch can (UNAVAILABLE lists what it cannot); without it, a torch that lacks
        any of it is refused here, before anything is recorded."""
        if UNAVAILABLE and not partial:
            raise RuntimeError("this torch cannot record " + "; ".join(f"{what} (torch >= {since})" for what, since
                                                                      in UNAVAILABLE) + f": it is torch {torch.__version__}")
        self.marker, self.calls, self.stopped = f"lab2-call-{token}-", [], False
        self._markers, self._by_start, self._starts = {}, [], []

    def __enter__(self):
        with warnings.catch_warnings(), _Quiet():
            warnings.simplefilter("ignore")
            self._prof = _profiler_class()(experimental_config=_ALL_THREADS)
            self._prof.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            with warnings.catch_warnings(), _Quiet():
                warnings.simplefilter("ignore")
                self._prof.__exit__(None, None, None)
                self._index(_events_of(self._prof))
        except (RuntimeError, AssertionError, AttributeError):  # the profiler was stopped by the code under test
            self.stopped = True
        return False

    def _index(self, events):
        """The recorded events, looked up by ops(): each call's markers by name, and every event by its start."""
        self._markers, self._by_start = {}, sorted(events, key=lambda e: e.start)
        self._starts = [e.start for e in self._by_start]
        for event in self._by_start:
            if event.name.startswith(self.marker):
                self._markers.setdefault(event.name, []).append(event)

    def _started_within(self, start, end):
        return self._by_start[bisect_left(self._starts, start):bisect_right(self._starts, end)]

    def call(self, fn, args):
        """Run fn(*args), recorded: {"value" | "error", "funcs", "outside", "warnings"}."""
        funcs, aten = _TorchFunctionCounts(), _AtenOps(args)
        result = {"error": None, "out": None}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with _record_function(self.marker + str(len(self.calls))), funcs, aten:
                    result["value"] = fn(*args)
            except (Exception, SystemExit) as err:  # KeyboardInterrupt (a timeout) goes on up
                result["error"] = {"type": type(err).__name__, "message": str(err)[:300]}
        if result["error"] is None:
            aten.read(result["value"])  # what it returns: made by the call, or one of its inputs
        self.calls.append(aten.names)
        result["funcs"], result["outside"] = funcs.counts, aten.outside
        result["warnings"] = [f"{w.category.__name__}: {w.message}"[:300] for w in caught]
        return result

    def start_cell(self):
        """Record what runs from now until stop_cell() as one more call (a whole cell, run by the kernel between the
        two): its ops (both recorders) and torch functions. Returns the call's index for ops()."""
        self._cell = (_record_function(self.marker + str(len(self.calls))), _TorchFunctionCounts(), _AtenOps())
        for context in self._cell:
            context.__enter__()
        self.calls.append(self._cell[2].names)
        return len(self.calls) - 1

    def stop_cell(self):
        """The torch functions the cell called (its ops: ops(index) after the recorder's block)."""
        for context in reversed(self._cell):
            context.__exit__(None, None, None)
        return self._cell[1].counts

    def ops(self, index):
        """The aten ops call `index` ran (both recorders), with ENGINE when autograd's engine ran in it: the ops below
        its marker, and every op another thread started while the marker was open."""
        names = set(self.calls[index])
        if self.stopped:
            return sorted(names | {RECORDER_STOPPED})
        for marker in self._markers.get(self.marker + str(index), ()):
            for event in self._started_within(marker.start, marker.end):  # in the marker's thread: what it encloses
                _add_op(names, event.name)
                if event.thread != marker.thread:  # another thread's op that began meanwhile, with what it encloses
                    for child in self._started_within(event.start, event.end):
                        if child.thread == event.thread:
                            _add_op(names, child.name)
        return sorted(names)


class _Event(NamedTuple):
    name: str
    start: int   # ns
    end: int     # ns
    thread: int


def _events_of(prof):
    """Every event the profiler recorded, read from its raw results: torch's own function_events builds a Python
    object and a tree for each (25 ms of a probe's 30 on the build machine), where a name, a time range and a thread
    are all that ops() reads. An op's events nest in time within its thread, so what a marker encloses is what began
    in its thread between its start and its end."""
    events = []
    for raw in prof.kineto_results.events():
        if hasattr(raw, "start_ns"):
            start, end = raw.start_ns(), raw.start_ns() + raw.duration_ns()
        else:  # older torch: microseconds
            start, end = int(raw.start_us() * 1000), int((raw.start_us() + raw.duration_us()) * 1000)
        events.append(_Event(raw.name(), start, end, raw.start_thread_id()))
    return events


def _add_op(names, event_name):
    if event_name.startswith("aten::"):
        names.add(event_name[len("aten::"):])
    elif event_name.startswith("autograd::engine"):
        names.add(ENGINE)


class _Quiet:
    """Standard error's file descriptor sent to /dev/null while the profiler starts and stops: Kineto writes a line
    to it each time (and, on a CUDA build without a GPU, an error about the device count), which would otherwise
    land in the cell's output."""

    def __enter__(self):
        self._saved = None
        try:
            null = os.open(os.devnull, os.O_WRONLY)
        except OSError:  # no /dev/null: the lines stay where they are
            return
        try:
            self._saved = os.dup(2)
            os.dup2(null, 2)
        except OSError:  # no descriptor 2
            self._saved = None
        finally:
            os.close(null)

    def __exit__(self, *exc):
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        return False


# what the running torch cannot record: (what, the oldest torch that can), in the student's words (the advice says
# them); empty on the grader's torch
UNAVAILABLE = []
OTHER_THREADS = ("别的线程里运行的运算", "2.7")  # what profile_all_threads records, and the first torch that has it


def _all_threads():
    """Kineto's profiler with global callbacks: it records the ops of every thread (torch's legacy profiler and the
    Python modes see only the thread that started them). torch < 2.7 has no such option: there only the calling
    thread is recorded."""
    try:
        return _ExperimentalConfig(profile_all_threads=True)
    except TypeError:
        UNAVAILABLE.append(OTHER_THREADS)
        return None


# taken when this file loads, as is the marker of each call
_PROFILE, _ALL_THREADS = _profiler.profile, _all_threads()
_record_function = _profiler.record_function


def _profiler_class():
    return _PROFILE
