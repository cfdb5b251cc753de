# Sourced by tools/demo.sh and tools/test.sh: makes the virtual environment (.venv, or $LAB2_VENV)
# with requirements.txt when it is missing or the requirements changed, installs this folder's code
# (pyproject.toml: the packages grading and tools) in editable mode, and puts its bin/ on PATH
# (nbgrader shells out to alembic from there when it creates a gradebook).
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

# Debian packages: bubblewrap (autograde runs student kernels in its sandbox; nbgrader_config.py refuses
# without it); chromium, its driver and CJK fonts (the browser tests drive the Formgrader with them).
missing=""
command -v bwrap >/dev/null || missing="$missing bubblewrap"
command -v chromium >/dev/null || missing="$missing chromium"
command -v chromedriver >/dev/null || missing="$missing chromium-driver"
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing="$missing fonts-noto-cjk"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing$missing ..."
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >/dev/null
  else
    echo "missing Debian packages:$missing (sudo apt-get install$missing): bubblewrap before autograding," \
         "the others for the browser tests" >&2
  fi
fi
