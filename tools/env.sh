# Sourced by tools/demo.sh and tools/test.sh: makes the virtual environment (.venv, or $LAB2_VENV)
# with requirements.txt when it is missing or the requirements changed, installs this folder's code
# (pyproject.toml: the packages grading and tools) in editable mode (or, in a venv that holds another checkout's,
# puts this folder first on PYTHONPATH), and puts its bin/ on PATH (nbgrader shells out to alembic from there when it
# creates a gradebook). A venv this user cannot run or write is refused in one line that says what to do. Each
# checkout's tools and nbgrader run that checkout's own code (tools/_checkout.py), and course.py stops any other
# script of another checkout, saying so.
VENV="${LAB2_VENV:-$PWD/.venv}"
lab2_refuse() { echo "tools/env.sh: $*" >&2; return 1; }
if [ -e "$VENV" ] && [ ! -x "$VENV/bin/python" ] || { [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c '' 2>/dev/null; }; then
  lab2_refuse "$VENV/bin/python does not run for $(id -un) (its Python may lie in a folder this user cannot read):" \
    "set LAB2_VENV to a virtual environment of your own, e.g. LAB2_VENV=\$HOME/lab2-venv" || return 1 2>/dev/null || exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  [ -w "$(dirname "$VENV")" ] || { lab2_refuse "cannot create $VENV ($(dirname "$VENV") is not writable for $(id -un)):" \
    "set LAB2_VENV to a folder of your own, e.g. LAB2_VENV=\$HOME/lab2-venv" || return 1 2>/dev/null || exit 1; }
  echo "creating $VENV (Python 3.11) ..."
  { command -v python3.11 >/dev/null && python3.11 -m venv "$VENV"; } || python3 -m venv "$VENV"
fi
if ! sha256sum requirements.txt | cmp -s - "$VENV/.requirements.sha256"; then
  [ -w "$VENV" ] || { lab2_refuse "$VENV lacks requirements.txt as it is now, and $(id -un) cannot write it:" \
    "set LAB2_VENV to a virtual environment of your own" || return 1 2>/dev/null || exit 1; }
  echo "installing requirements.txt into $VENV (torch is large: a few minutes the first time) ..."
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
  sha256sum requirements.txt > "$VENV/.requirements.sha256"
fi
# This folder's code: installed in editable mode into a venv of its own. A venv that already holds another checkout's
# (LAB2_VENV shared by several clones) is left as it is, and this folder's code comes first on PYTHONPATH.
installed="$("$VENV/bin/python" -I -c 'import course, os; print(os.path.realpath(os.path.dirname(course.__file__)))' 2>/dev/null || true)"
if [ "$installed" != "$(pwd -P)" ]; then
  if [ -n "$installed" ] && [ -f "$installed/course.py" ]; then
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  else
    [ -w "$VENV" ] || { lab2_refuse "$(id -un) cannot install this folder's code into $VENV:" \
      "set LAB2_VENV to a virtual environment of your own" || return 1 2>/dev/null || exit 1; }
    echo "installing this folder's code (grading, tools) into $VENV ..."
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  fi
fi
export PATH="$VENV/bin:$PATH"

# debian_packages WHY PACKAGE=CHECK ...: installs the Debian packages whose CHECK (a command, or a file) is
# missing, as root with apt-get; otherwise names them. tools/test.sh adds what only the tests use.
debian_packages() {
  local why="$1" missing="" spec
  shift
  for spec in "$@"; do
    command -v "${spec#*=}" >/dev/null || [ -e "${spec#*=}" ] || missing="$missing ${spec%%=*}"
  done
  [ -n "$missing" ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing$missing ($why) ..."
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >/dev/null
  else
    echo "missing Debian packages:$missing (sudo apt-get install$missing): $why" >&2
  fi
}
# bubblewrap: autograde runs student kernels in its sandbox (grading/safe_execute.py refuses without it).
debian_packages "autograde's sandbox" bubblewrap=bwrap
