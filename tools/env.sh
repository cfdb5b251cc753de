# Sourced by tools/demo.sh and tools/test.sh: makes the virtual environment (.venv, or $LAB2_VENV)
# with requirements.txt when it is missing or the requirements changed, installs this folder's code
# (pyproject.toml: the packages grading and tools) in editable mode, and puts its bin/ on PATH
# (nbgrader shells out to alembic from there when it creates a gradebook). A venv that serves two checkouts
# ($LAB2_VENV) is installed from the last one that sourced this; each checkout's tools and nbgrader still run that
# checkout's own code (tools/_checkout.py), and course.py stops any other script of the other one, saying so.
VENV="${LAB2_VENV:-$PWD/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV (Python 3.11) ..."
  { command -v python3.11 >/dev/null && python3.11 -m venv "$VENV"; } || python3 -m venv "$VENV"
fi
if ! sha256sum requirements.txt | cmp -s - "$VENV/.requirements.sha256"; then
  echo "installing requirements.txt into $VENV (torch is large: a few minutes the first time) ..."
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
  sha256sum requirements.txt > "$VENV/.requirements.sha256"
fi
if [ "$("$VENV/bin/python" -I -c 'import course, grading, os; print(os.path.dirname(course.__file__))' 2>/dev/null)" != "$PWD" ]; then
  echo "installing this folder's code (grading, tools) into $VENV ..."
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
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
