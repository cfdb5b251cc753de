"""A grading kernel's stderr until it is ready: why a kernel that cannot start did not start.

Each sandboxed kernel (started by grading/jupyter/kernels/lab2-sandbox/launch.py or forked by the zygote,
grading/zygote.py) writes its file descriptor 2 into a pipe of the grading process: bwrap's errors, the launcher's,
Python's traceback of an import that failed. A thread reads it and keeps the last lines until the kernel has answered
kernel_info (grading/kernels.py: ReadyClient calls ready()); from then on the student writes stderr, and what comes is
read and dropped (never kept, never shown to the TA, never written to disk; the pipe is drained so that the kernel never
blocks on it). A kernel that dies or stays silent before it is ready is the grader's fault (a GraderBug): its message
carries these lines (last_lines()), so that the TA reads the failed import instead of "Kernel died before replying to
kernel_info".
"""
import os
import threading

KEPT_BYTES = 16 << 10  # what is kept of the stderr before the kernel is ready: its end
SHOWN_LINES = 8        # the last lines that reach the message
SHOWN_CHARS = 1500     # ... at most this many characters of them (the end: a traceback ends with its error)


class StartupStderr:
    """The reading end of one kernel's stderr pipe. `fd` is the writing end to give the kernel (Popen's stderr, or the
    zygote's request); close_writer() once the kernel's process has it."""

    def __init__(self):
        self._read, self.fd = os.pipe()
        self._kept = b""
        self._keeping = True
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="lab2-kernel-stderr", daemon=True)
        self._thread.start()

    def close_writer(self):
        """The grading process's copy of the writing end, closed: the pipe ends when the kernel's processes end."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _drain(self):
        try:
            while chunk := os.read(self._read, 1 << 16):
                with self._lock:
                    if self._keeping:
                        self._kept = (self._kept + chunk)[-KEPT_BYTES:]
        except OSError:
            pass
        finally:
            os.close(self._read)

    def ready(self):
        """The kernel has answered: nothing it writes from now on is kept (it is the student's)."""
        with self._lock:
            self._keeping = False

    def last_lines(self, wait=1.0):
        """The last lines the kernel wrote before it was ready, on one line (' | ' between them), or ''. Waits up to
        `wait` s for the pipe's end (a kernel that just died may still have bytes in it)."""
        self._thread.join(wait)
        with self._lock:
            text = self._kept.decode("utf-8", errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()][-SHOWN_LINES:]
        shown = " | ".join(lines)
        return shown if len(shown) <= SHOWN_CHARS else "…" + shown[-SHOWN_CHARS:]

    def explain(self, message):
        """`message` (why the kernel is not ready) with the kernel's last lines on stderr, when it wrote any."""
        lines = self.last_lines()
        return f"{message}; the kernel's last lines on stderr: {lines}" if lines else \
            f"{message}; the kernel wrote nothing on stderr"
