"""Benchmark: the handout's experiment code as written against the lab's notebook code, on the same
MNIST-sized data (60,000 training and 10,000 test images in MNIST format, read by torchvision).

Each (implementation, experiment) runs in its own process, so the peak memory is its own. Printed per
experiment: wall time, the ratio, time per model-epoch and peak resident memory; then both full-scale
totals (handout: 15 + 10 MLP epochs, 60 CNN epochs; lab: the same MLP epochs, 45 CNN epochs because the
no-dropout baseline is trained once), projected from the measured epochs unless --full ran them all.

    python benchmarks/run_experiments.py                 # 1 epoch per model (about 10 minutes on 2 cores)
    python benchmarks/run_experiments.py --full          # the handout's epoch counts (about an hour)
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tools"))
import prepare_data  # noqa: E402

SOURCE_NB = ROOT / "source" / "lab2_regularization" / "lab2_regularization.ipynb"
EXPERIMENTS = ("gradient_vanishing", "relu_death", "dropout")
# model-epochs per experiment and implementation, as a function of (MLP epochs, CNN epochs)
MODEL_EPOCHS = {"gradient_vanishing": {"handout": lambda m, c: 3 * m, "lab": lambda m, c: 3 * m},
                "relu_death": {"handout": lambda m, c: 2 * m, "lab": lambda m, c: 2 * m},
                "dropout": {"handout": lambda m, c: 4 * c, "lab": lambda m, c: 3 * c}}
FULL = (5, 15)  # the handout's MLP and CNN epochs
RUN_LINES = {"gradient_vanishing": ("gradient_results",), "relu_death": ("death_results",),
             "dropout": ("dropout_results", "dropout_results_concise")}
RUN_LINE = re.compile(r"^(gradient_results|death_results|dropout_results|dropout_results_concise|l2_results\[.*?\])"
                      r" = (experiment_\w+|train)\(")


def build_data(dest: Path) -> str:
    """60,000 training and 10,000 test images: the 10,000 real test digits (or synthetic ones) tiled."""
    raw = dest / "MNIST" / "raw"
    if prepare_data.has_mnist(raw):
        return f"{raw} (reused)"
    small = dest / "_small"
    what = prepare_data.build_mnist_folder(small)
    src = small / "MNIST" / "raw"
    images = np.concatenate([prepare_data.read_idx(src / prepare_data.FILES[f"{p}_images"]) for p in ("train", "test")])
    labels = np.concatenate([prepare_data.read_idx(src / prepare_data.FILES[f"{p}_labels"]) for p in ("train", "test")])
    raw.mkdir(parents=True, exist_ok=True)
    train = np.arange(60000) % len(labels)
    test = np.arange(10000) % len(labels)
    prepare_data.write_idx(raw / prepare_data.FILES["train_images"], images[train])
    prepare_data.write_idx(raw / prepare_data.FILES["train_labels"], labels[train])
    prepare_data.write_idx(raw / prepare_data.FILES["test_images"], images[test])
    prepare_data.write_idx(raw / prepare_data.FILES["test_labels"], labels[test])
    return f"{raw}: 60,000 + 10,000 images tiled from {what.split(': ', 1)[1]}"


def run_handout(experiment, data, mlp_epochs, cnn_epochs):
    sys.path.insert(0, str(HERE))
    import handout_code
    handout_code.DATA = str(data)
    start = time.time()
    handout_code.EXPERIMENTS[experiment](mlp_epochs, cnn_epochs)
    return time.time() - start


def run_lab(experiment, data, mlp_epochs, cnn_epochs):
    """Execute the source notebook's code (solutions in, tests out) with only this experiment's runs."""
    import matplotlib
    matplotlib.use("Agg")
    import nbformat
    os.environ["LAB2_DATA_DIR"] = str(data)
    os.environ.pop("NBGRADER_EXECUTION", None)
    namespace, seconds = {}, 0.0
    for cell in nbformat.read(str(SOURCE_NB), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade") or "check_activation_function(MyReLU" in cell.source:
            continue
        lines = [l for l in cell.source.splitlines() if "### BEGIN" not in l and "### END" not in l]
        runs = [l for l in lines if RUN_LINE.match(l)]
        mine = [l for l in runs if RUN_LINE.match(l).group(1) in RUN_LINES[experiment]]
        code = "\n".join(l for l in lines if l not in runs or l in mine)
        start = time.time()
        exec(compile(code, "<lab notebook>", "exec"), namespace)
        if mine:
            seconds += time.time() - start
        if "QUICK_RUN = False" in cell.source:
            namespace["SCALE"].update(mlp_epochs=mlp_epochs, cnn_epochs=cnn_epochs)
    return seconds


def one(args):
    runner = run_handout if args.one[0] == "handout" else run_lab
    seconds = runner(args.one[1], Path(args.data), args.mlp_epochs, args.cnn_epochs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"seconds": seconds, "peak_mb": peak_mb}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlp-epochs", type=int, default=1)
    parser.add_argument("--cnn-epochs", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="the handout's epoch counts (5 MLP, 15 CNN)")
    parser.add_argument("--experiments", nargs="*", default=list(EXPERIMENTS), choices=EXPERIMENTS)
    parser.add_argument("--data", default=str(HERE / "results" / "data"))
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.full:
        args.mlp_epochs, args.cnn_epochs = FULL
    if args.one:
        return one(args)

    import torch
    print(f"data: {build_data(Path(args.data))}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"device {'cuda: ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}; "
          f"{args.mlp_epochs} MLP epoch(s), {args.cnn_epochs} CNN epoch(s) per model\n")
    results = {}
    for experiment in args.experiments:
        for impl in ("handout", "lab"):
            out = subprocess.run([sys.executable, __file__, "--one", impl, experiment, "--data", args.data,
                                  "--mlp-epochs", str(args.mlp_epochs), "--cnn-epochs", str(args.cnn_epochs)],
                                 capture_output=True, text=True)
            line = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
            if not line:
                sys.exit(f"{impl} {experiment} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
            results[(experiment, impl)] = json.loads(line[0][7:])
            print(f"  {experiment:20s} {impl:8s} {results[(experiment, impl)]['seconds']:8.1f} s", flush=True)

    head = f"\n{'experiment':20s} {'handout s':>10s} {'lab s':>8s} {'ratio':>6s} {'s/epoch handout':>16s} " \
           f"{'s/epoch lab':>12s} {'epoch ratio':>12s} {'peak MB handout':>16s} {'peak MB lab':>12s}"
    print(head + "\n" + "-" * (len(head) - 1))
    total = {"handout": 0.0, "lab": 0.0}
    for experiment in args.experiments:
        h, l = results[(experiment, "handout")], results[(experiment, "lab")]
        eh = MODEL_EPOCHS[experiment]["handout"](args.mlp_epochs, args.cnn_epochs)
        el = MODEL_EPOCHS[experiment]["lab"](args.mlp_epochs, args.cnn_epochs)
        per_h, per_l = h["seconds"] / eh, l["seconds"] / el
        for impl, per in (("handout", per_h), ("lab", per_l)):
            total[impl] += per * MODEL_EPOCHS[experiment][impl](*FULL)
        print(f"{experiment:20s} {h['seconds']:10.1f} {l['seconds']:8.1f} {h['seconds'] / l['seconds']:6.1f} "
              f"{per_h:16.2f} {per_l:12.2f} {per_h / per_l:12.1f} {h['peak_mb']:16.0f} {l['peak_mb']:12.0f}")
    how = "measured" if (args.mlp_epochs, args.cnn_epochs) == FULL else "projected from the epochs above"
    which = "the whole lab" if set(args.experiments) == set(EXPERIMENTS) else ", ".join(args.experiments)
    print(f"\nfull scale, {which} ({how}): handout {total['handout'] / 60:.1f} min, lab {total['lab'] / 60:.1f} min, "
          f"{total['handout'] / total['lab']:.1f}x faster")


if __name__ == "__main__":
    main()
