"""The code that runs is the code you stand in: a tool run as `python tools/<tool>.py` imports `course`, `grading` and
`tools` from the checkout the tool is in, whichever checkout the virtual environment was installed from (tools/env.sh
installs one in editable mode; two checkouts may share one venv). Every tool that is a command starts with

    if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
        import _checkout  # noqa: F401  (tools/_checkout.py)

before it imports any of them. Python puts the script's own folder (tools/) first on sys.path; this module puts the
checkout there instead, as `python -m tools.<tool>` run in the checkout does (there, __package__ is "tools" and this
module is not needed). (nbgrader puts the folder it runs in
first itself, and course.py refuses, in one line, a script of another checkout that runs with an installed course.)
"""
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == CHECKOUT / "tools":
    sys.path[0] = str(CHECKOUT)
