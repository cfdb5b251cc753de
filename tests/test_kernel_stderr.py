"""grading/kernel_stderr.py: a kernel's stderr is kept until it is ready, and only its end; after that, nothing."""
import os
import time

from grading import kernel_stderr
from grading.kernel_stderr import StartupStderr


def test_the_last_lines_before_ready_are_kept_and_nothing_after():
    stderr = StartupStderr()
    os.write(stderr.fd, b"".join(f"line {i}\n".encode() for i in range(100)))
    os.write(stderr.fd, b"ImportError: cannot import name 'debugger' from 'IPython.core'\n")
    deadline = time.monotonic() + 10
    while "debugger" not in stderr.last_lines(wait=0) and time.monotonic() < deadline:  # the reader has them
        time.sleep(0.01)
    stderr.ready()
    os.write(stderr.fd, b"the student's own stderr\n" * 1000)
    stderr.close_writer()
    lines = stderr.last_lines()
    assert lines.endswith("line 99 | ImportError: cannot import name 'debugger' from 'IPython.core'"), lines
    assert lines.count(" | ") == kernel_stderr.SHOWN_LINES - 1 and "student" not in lines, lines
    assert stderr.explain("Kernel died") == f"Kernel died; the kernel's last lines on stderr: {lines}"


def test_a_silent_kernel_is_said_to_be_silent_and_a_long_line_keeps_its_end():
    quiet = StartupStderr()
    quiet.close_writer()
    assert quiet.explain("Kernel died") == "Kernel died; the kernel wrote nothing on stderr"
    loud = StartupStderr()
    os.write(loud.fd, b"x" * 5000 + b" the end\n")
    loud.close_writer()
    lines = loud.last_lines()
    assert lines.startswith("…") and lines.endswith("the end") and len(lines) == kernel_stderr.SHOWN_CHARS + 1
