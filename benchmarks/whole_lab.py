"""The whole lab in one Python process: every code cell of the master notebook in order, solutions and
tests (the hidden ones too, with the probe loaded first as in the grading kernel, judged in this process), at the handout's full
scale (or the small grading scale), on CUDA when there is one. Prints the seconds of every cell that took
more than half a second, and the total. It checks that the lab runs end to end on a machine (a GPU one,
say) and measures its wall time; the cells' own output goes to a log file.

    python benchmarks/whole_lab.py [--small] [--data DIR] [--log FILE] [--notebook FILE]
"""
import argparse
import contextlib
import importlib.util
import os
import sys
import time
import traceback
from pathlib import Path

import course


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="the small scale (LAB2_SCALE=small)")
    parser.add_argument("--data", default=str(course.ROOT / "data"), help="folder holding MNIST/raw/")
    parser.add_argument("--log", default=str(course.ROOT / "benchmarks" / "results" / "whole_lab.log"))
    parser.add_argument("--notebook", default=str(course.source_nb()), help="the notebook to run (the master by default)")
    args = parser.parse_args()

    os.environ["LAB2_DATA_DIR"] = str(Path(args.data).resolve())
    os.environ["LAB2_SCALE"] = "small" if args.small else "full"
    import matplotlib
    matplotlib.use("Agg")
    import torch
    spec = importlib.util.spec_from_file_location("lab2_probe", course.ROOT / "grading" / "lab2_probe.py")
    sys.modules["lab2_probe"] = probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)  # before any notebook code, as the grading kernel does; without a plan,
    # its hidden-test line judges in this process with grading/lab2_grader.py (as nbgrader validate does)
    from grading import lab2_grader
    probe.LOCAL_JUDGE = lab2_grader.check_here

    device = f"cuda: {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__}, device {device}, {os.environ['LAB2_SCALE']} scale")
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    namespace, total = {"__name__": "__main__"}, 0.0
    notebook = course.read(args.notebook)
    with open(args.log, "w", encoding="utf-8") as log:
        for cell in course.master_cells(tests=True, nb=notebook):
            index = notebook.cells.index(cell)
            source = course.strip_markers(cell.source)
            name = course.meta(cell).get("grade_id") or source.strip().splitlines()[0][:60]
            print(f"\n### cell {index}: {name}", file=log, flush=True)
            start = time.time()
            try:
                with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                    exec(compile(source, f"<cell {index}>", "exec"), namespace)
            except Exception as err:
                traceback.print_exc(file=log)
                sys.exit(f"cell {index} ({name}) failed after {total + time.time() - start:.1f} s: "
                         f"{type(err).__name__}: {err}\n(the traceback is in {args.log})")
            seconds = time.time() - start
            total += seconds
            if seconds > 0.5:
                print(f"  cell {index:2d} {seconds:7.1f} s  {name}", flush=True)
    print(f"whole lab: {total:.1f} s ({total / 60:.1f} min) on {device}; cell output in {args.log}")


if __name__ == "__main__":
    main()
