"""The lab where students run it: the student's notebook run in environments that are not the grader's (another
Python, an older or a newer torch, a package missing), each a venv of its own, as a student runs it (a plain kernel
of that venv's Python, driven by tests/student_kernel.py). Three checks per environment:

- reference: the complete sample (the master's solutions, tools/submissions.py), QUICK_RUN = True: the rules cell and
  every visible test run without an error and print their advice; a package the environment lacks is named in one
  line and breaks only the experiment cells that use it;
- release: the notebook as handed out, QUICK_RUN = True: each visible test fails only as its own (AssertionError, or
  the NotImplementedError of the part left as handed out), never with NameError, TypeError, ImportError ...;
- mnist: the notebook's first cells in a folder that holds only the .ipynb (no course, no data/): loading MNIST says
  what to put where (the download fails here), or, without torchvision, that torchvision is missing.

    python tools/student_envs.py                  # every environment of the matrix: build (or reuse), check, the table
    python tools/student_envs.py oldest py3.13    # only these
    python tools/student_envs.py --list           # the matrix

The venvs are cached in .student-envs/<name>/ (ignored by git), rebuilt when their packages change. Building the
matrix downloads several GB from PyPI (torch's CUDA builds), so it is not in CI; CI builds and checks ENVS["ci"]
(tests/test_student_env.py).
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import contextlib
import copy
import datetime
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import nbformat

import course
from grading import parts
from grading.rules import advice, recorder
from tools import prepare_data, submissions

sys.path.insert(0, str(course.ROOT / "tests"))
import student_kernel  # noqa: E402  (tests/: the advice run's kernels, as a student runs them)

CACHE = course.ROOT / ".student-envs"
STUDENT_PACKAGES = ("numpy", "matplotlib", "tqdm", "ipykernel")  # what the notebook imports besides torch and
# torchvision, and the kernel; their pins for CI's environment are requirements.txt's


def pinned(names, requirements=course.ROOT / "requirements.txt"):
    """requirements.txt's line for each name (its pin), comments dropped."""
    lines = [line.split("#")[0].strip() for line in requirements.read_text(encoding="utf-8").splitlines()]
    found = {re.split(r"[=<>~!\[ ]", line, maxsplit=1)[0].lower(): line for line in lines if line}
    return tuple(found[name] for name in names)


class Env(NamedTuple):
    python: str      # the minor version, "3.10"
    packages: tuple  # pip's requirement specifiers
    what: str        # why it is in the matrix


NEWEST = ("torch==2.14.1", "torchvision==0.29.1")
ENVS = {
    # torch 2.13.0's CPU build lies on the build machines' disk (no download); PyPI's torchvision does not import
    # beside it, so there is none
    "ci": Env("3.11", ("torch==2.13.0",) + pinned(STUDENT_PACKAGES), "CI's: torch's CPU build, no torchvision"),
    "oldest": Env("3.10", ("torch==2.1.2", "torchvision==0.16.2", "numpy==1.26.4", "matplotlib", "tqdm", "ipykernel"),
                  "the oldest supported torch on the oldest supported Python, numpy 1.26"),
    "lab-2024": Env("3.11", ("torch==2.4.1", "torchvision==0.19.1", "numpy==1.26.4", "matplotlib", "tqdm",
                             "ipykernel"), "issue 33's lab machine from 2024"),
    "bare": Env("3.11", ("torch==2.13.0",) + pinned(("numpy", "ipykernel")),
                "torch and numpy alone: no torchvision, matplotlib, tqdm (each named, only the experiments stop)"),
    "py3.12": Env("3.12", NEWEST + ("numpy", "matplotlib", "tqdm", "ipykernel"), "the newest torch on Python 3.12"),
    "py3.13": Env("3.13", NEWEST + ("numpy", "matplotlib", "tqdm", "ipykernel"), "the newest torch on Python 3.13"),
}
OWN_FAILURES = ("AssertionError", "NotImplementedError")  # how a visible test fails on a part left as handed out
MISSING, DATA_MISSING = "PackageMissingError", "DataMissingError"  # the notebook's one-line errors


# ---------------------------------------------------------------- the environments
def interpreter(version):
    """A Python of that minor version on this machine: python3.X on PATH, pyenv's, or uv's."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")), reverse=True)
    if shutil.which("uv"):
        found = subprocess.run(["uv", "python", "find", version], capture_output=True, text=True)
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    for candidate in filter(None, candidates):
        said = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)
        if said.returncode == 0 and said.stdout.strip() == version:
            return candidate
    raise SystemExit(f"no Python {version} on this machine (python{version} on PATH, ~/.pyenv/versions/{version}.*, "
                     f"uv python find {version})")


def build(name, cache=CACHE, log=print):
    """The venv of ENVS[name] in cache/name: made when missing, made again when its Python or packages changed (the
    stamp .requirements.sha256 holds what it was made from, as tools/env.sh's). Returns its python."""
    env = ENVS[name]
    venv, stamp = Path(cache) / name, hashlib.sha256(json.dumps([env.python, env.packages]).encode()).hexdigest()
    python = venv / "bin" / "python"
    if python.exists() and (venv / ".requirements.sha256").exists() \
            and (venv / ".requirements.sha256").read_text().strip() == stamp:
        return python
    log(f"building {venv} (Python {env.python}: {' '.join(env.packages)}) ...")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([interpreter(env.python), "-m", "venv", str(venv)], check=True)
    # --no-compile: torch's thousands of modules are not byte-compiled at install (61 s instead of 174 s, cold, on the
    # loaded 2 cores); the kernel compiles what it imports, once
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                    *env.packages], check=True)
    (venv / ".requirements.sha256").write_text(stamp + "\n")
    return python


def versions(python):
    """What that environment runs: Python, torch, numpy, and the notebook's packages it lacks."""
    script = ("import importlib.util, json, sys, numpy, torch; print(json.dumps({'python': sys.version.split()[0], "
              "'torch': torch.__version__, 'numpy': numpy.__version__, 'missing': [m for m in "
              "('torchvision', 'matplotlib', 'tqdm') if importlib.util.find_spec(m) is None]}))")
    return json.loads(subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True).stdout)


# ---------------------------------------------------------------- the notebooks
def quick(nb):
    """The notebook with QUICK_RUN = True, as a student sets it in the 运行规模 cell."""
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb.cells if "lab2-scale" in course.tags(c))
    cell.source = submissions.edit(cell.source, "QUICK_RUN = False", "QUICK_RUN = True")
    return nb


def reference_nb(folder=course.ROOT):
    """The complete sample: the release with every answer the master's (tools/submissions.py)."""
    return quick(submissions.fill(course.read(course.release_nb(folder)), submissions.solutions(
        course.read(course.source_nb(folder)))))


def release_nb(folder=course.ROOT):
    return quick(course.read(course.release_nb(folder)))


def mnist_nb(folder=course.ROOT):
    """The release's cells up to its data loader (the environment check, the setup, the imports, the scale, the
    loader), then get_data(): the first experiment's first step."""
    nb = quick(course.read(course.release_nb(folder)))
    wanted = {"lab2-environment", "lab2-imports", "lab2-scale", "lab2-data"}
    nb.cells = [c for c in nb.cells if c.cell_type == "code" and (course.meta(c).get("grade_id") == "setup"
                                                                   or course.tags(c) & wanted)]
    nb.cells.append(nbformat.v4.new_code_cell("get_data(64, 64)"))
    return nb


@contextlib.contextmanager
def student_environ():
    """The student's kernel starts without the course's settings (LAB2_*, NBGRADER_*): it inherits this process's."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(("LAB2_DATA", "LAB2_SCALE", "NBGRADER"))}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def run(nb, folder, python=None):
    """Run nb in a folder that holds only it (and whatever is already in `folder`), in python's kernel (None: this
    venv's); returns (the executed notebook, seconds)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / course.NOTEBOOK))
    start = time.monotonic()
    with student_environ():
        student_kernel.run_notebook(nb, folder, python=python)
    return nb, time.monotonic() - start


# ---------------------------------------------------------------- what each check requires
def label(cell):
    return course.meta(cell).get("grade_id") or "/".join(sorted(course.tags(cell))) or cell.source[:40]


def errors(nb):
    """[(cell, the error's name, its message)] of every error output, in order."""
    return [(cell, o.ename, o.evalue) for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "error"]


def text_of(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def missing_ok(cell, ename, evalue, missing):
    """An experiment cell stopped by a package the environment lacks, in the notebook's one line."""
    return course.EXPERIMENT in course.tags(cell) and ename == MISSING and any(p in evalue for p in missing)


def named_once(nb, missing):
    """Each missing package named in exactly one line of the imports cell (where the notebook imports it)."""
    imports = next(c for c in nb.cells if "lab2-imports" in course.tags(c))
    lines = text_of(imports).splitlines()
    return [f"the imports cell names {p} in {sum(p in line for line in lines)} lines, not 1: {lines}"
            for p in missing if sum(p in line for line in lines) != 1]


def release_of(version):
    """'2.1.2+cu121' -> (2, 1)"""
    return tuple(int(n) for n in re.findall(r"\d+", version.split("+")[0])[:2])


def advice_problems(nb, honest, torch_version):
    """Each visible test printed its advice (and, for honest code, found nothing); on a torch older than the one that
    records other threads, a line says that this check waits for the grader, and on a newer one no line does."""
    problems, notes = [], 0
    what, since = recorder.OTHER_THREADS
    for cell in nb.cells:
        grade_id = course.meta(cell).get("grade_id")
        if grade_id not in parts.TESTS:
            continue
        said = [line for line in text_of(cell).splitlines() if line.startswith(f"{advice.MARK}{grade_id}: ")]
        notes += sum(f"{what}:这一项检查需要 torch ≥ {since},评分时仍会检查" in line for line in said)
        if not said:
            problems.append(f"{grade_id}: no advice printed")
        elif honest and "没有发现" not in said[0]:
            problems.append(f"{grade_id}: the advice on the reference answer: {said[0]}")
    recorded = release_of(torch_version) >= release_of(since)
    if notes if recorded else not notes:
        problems.append(f"torch {torch_version}: {notes} tests say that {since} is needed to record {what}")
    return problems


def reference_problems(nb, found):
    """The reference run: no error but the missing packages' in experiment cells; advice everywhere, finding nothing."""
    problems = [f"{label(c)}: {ename}: {evalue[:200]}" for c, ename, evalue in errors(nb)
                if not missing_ok(c, ename, evalue, found["missing"])]
    return problems + named_once(nb, found["missing"]) + advice_problems(nb, True, found["torch"])


def release_problems(nb, found):
    """The untouched release: every cell outside the experiments runs, but the visible tests, which fail only as their
    own; the missing packages as in the reference."""
    problems = []
    for cell, ename, evalue in errors(nb):
        if course.EXPERIMENT in course.tags(cell):
            continue  # the experiments call the parts left as handed out
        if course.meta(cell).get("grade_id") not in parts.TESTS or ename not in OWN_FAILURES:
            problems.append(f"{label(cell)}: {ename}: {evalue[:200]}")
    return problems + named_once(nb, found["missing"]) + advice_problems(nb, False, found["torch"])


def mnist_problems(nb, folder, found):
    """Loading MNIST in a folder that holds only the notebook: the four files and where to put them, in a message of
    its own (no traceback); without torchvision, the line that names it."""
    *before, last = nb.cells
    missing = found["missing"]
    problems = [f"{label(c)}: {ename}: {evalue[:200]}" for c, ename, evalue in errors(nbformat.v4.new_notebook(
        cells=before)) if not missing_ok(c, ename, evalue, missing)]
    error = next((o for o in last.get("outputs", []) if o.output_type == "error"), None)
    if error is None:
        return problems + ["get_data() ran without data"]
    shown = "\n".join(error.traceback)
    if "Traceback" in shown or "File " in shown:
        problems.append(f"get_data(): a traceback, not a message: {shown[:300]}")
    if "torchvision" in missing:
        wanted = [MISSING, "torchvision"]
    else:
        wanted = [DATA_MISSING, *prepare_data.FILES.values(), str(Path(folder) / "data" / "MNIST" / "raw")]
    return problems + [f"get_data(): {want!r} not in {shown[:300]!r}" for want in wanted if want not in shown]


def check(python, workdir, data=None, log=print):
    """The three checks in python's environment (None: this venv), each in a folder of its own under workdir (`data`:
    an MNIST folder, linked as data/ beside the reference and the release where torchvision can read it). Returns
    {check: (problems, seconds)} and what the environment runs."""
    found = versions(python or sys.executable)
    missing = found["missing"]
    results = {}
    for name, nb in (("reference", reference_nb()), ("release", release_nb()), ("mnist", mnist_nb())):
        folder = Path(workdir) / name
        folder.mkdir(parents=True)
        if data is not None and name != "mnist" and "torchvision" not in missing:
            (folder / "data").symlink_to(Path(data).resolve())
        nb, seconds = run(nb, folder, python)
        problems = (mnist_problems(nb, folder, found) if name == "mnist" else
                    reference_problems(nb, found) if name == "reference" else release_problems(nb, found))
        results[name] = (problems, seconds)
        log(f"  {name}: {len(problems)} problems in {seconds:.1f} s" + "".join(f"\n    {p}" for p in problems))
    return results, found


# ---------------------------------------------------------------- the table
HEADER = ("| environment | Python | torch | numpy | missing | reference: errors | release: errors | "
          "MNIST message | seconds |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def row(name, results, found):
    problems = {check: len(p) for check, (p, _) in results.items()}
    seconds = sum(s for _, s in results.values())
    return (f"| {name} | {found['python']} | {found['torch']} | {found['numpy']} | {', '.join(found['missing']) or '-'} "
            f"| {problems['reference']} | {problems['release']} | {'ok' if not problems['mnist'] else 'wrong'} "
            f"| {seconds:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("envs", nargs="*", help=f"environments of the matrix (default: all): {', '.join(ENVS)}")
    parser.add_argument("--list", action="store_true", help="print the matrix and stop")
    parser.add_argument("--cache", default=str(CACHE), help="where the venvs are kept (default: .student-envs/)")
    args = parser.parse_args()
    if args.list:
        for name, env in ENVS.items():
            print(f"{name:10s} Python {env.python}: {' '.join(env.packages)}  ({env.what})")
        return
    unknown = set(args.envs) - set(ENVS)
    if unknown:
        sys.exit(f"unknown environments {sorted(unknown)}: the matrix has {', '.join(ENVS)}")
    rows, failed = [], []
    # the data apart from the runs: the notebook looks for data/ in the folders above its own (find_data_dir)
    with tempfile.TemporaryDirectory(prefix="lab2-mnist-") as data, \
            tempfile.TemporaryDirectory(prefix="lab2-student-envs-") as runs:
        print(prepare_data.build_mnist_folder(Path(data)))
        for name in args.envs or ENVS:
            python = build(name, args.cache)
            print(f"{name}: {ENVS[name].what}")
            results, found = check(python, Path(runs) / name, data)
            rows.append(row(name, results, found))
            failed += [name] if any(p for p, _ in results.values()) else []
    print(f"\n{datetime.date.today().isoformat()}, {os.cpu_count()} cores:\n{HEADER}\n" + "\n".join(rows))
    if failed:
        sys.exit(f"problems in: {', '.join(failed)}")


if __name__ == "__main__":
    main()
