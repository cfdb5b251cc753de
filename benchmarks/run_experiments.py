"""Benchmark: the handout's experiment code as written against the lab's notebook code, on the same
MNIST-sized data (60,000 training and 10,000 test images in MNIST format, read by torchvision).

Each (implementation, experiment) runs in its own process, so the peak memory is its own. Printed per
experiment: wall time, the ratio, time per model-epoch and peak resident memory; then both full-scale
totals (handout: 15 + 10 MLP epochs, 60 CNN epochs; lab: the same MLP epochs, 45 CNN epochs because the
no-dropout baseline is trained once), projected from the measured epochs unless --full ran them all.
For the MLP experiments it also measures a floor: the bare training step of the lab's network on pre-sliced
batches (no shuffling, statistics or plots), which bounds the per-epoch speed-up any loop can reach at the
handout's batch size of 64.

    python benchmarks/run_experiments.py                 # 1 epoch per model (about 10 minutes on 2 cores)
    python benchmarks/run_experiments.py --full          # the handout's epoch counts (about an hour)
    python benchmarks/run_experiments.py --full --impls lab   # the lab alone (on a GPU: a few minutes)
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import course
from tools import prepare_data

HERE = Path(__file__).resolve().parent
EXPERIMENTS = ("gradient_vanishing", "relu_death", "dropout")  # the master's tags lab2-<experiment>
# model-epochs per experiment and implementation, as a function of (MLP epochs, CNN epochs)
MODEL_EPOCHS = {"gradient_vanishing": {"handout": lambda m, c: 3 * m, "lab": lambda m, c: 3 * m},
                "relu_death": {"handout": lambda m, c: 2 * m, "lab": lambda m, c: 2 * m},
                "dropout": {"handout": lambda m, c: 4 * c, "lab": lambda m, c: 3 * c}}
FLOOR_ACTIVATIONS = {"gradient_vanishing": ("relu", "sigmoid", "tanh"), "relu_death": ("relu", "tanh")}
FULL = (5, 15)  # the handout's MLP and CNN epochs


def build_data(dest: Path, shared: Path = prepare_data.DEFAULT_SHARED) -> str:
    """60,000 training and 10,000 test images: the 10,000 real test digits (or synthetic ones) tiled."""
    raw = dest / "MNIST" / "raw"
    if prepare_data.has_mnist(raw):
        return f"{raw} (reused)"
    small = dest / "_small"
    what = prepare_data.build_mnist_folder(small, shared)
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
    import handout_code  # next to this script
    handout_code.DATA = str(data)
    start = time.time()
    handout_code.EXPERIMENTS[experiment](mlp_epochs, cnn_epochs)
    return time.time() - start


def run_lab(experiment, data, mlp_epochs, cnn_epochs, namespace=None):
    """Execute the master's code (solutions in, tests out) with only this experiment's runs (none when
    experiment is None); return the seconds spent in the cells that ran them."""
    import matplotlib
    matplotlib.use("Agg")
    os.environ.update(LAB2_DATA_DIR=str(data), LAB2_SCALE="full")
    namespace = {} if namespace is None else namespace
    seconds = 0.0
    for cell in course.master_cells(runs={experiment} if experiment else ()):
        start = time.time()
        exec(compile(course.strip_markers(cell.source), "<lab notebook>", "exec"), namespace)
        if course.RUN in course.tags(cell):
            seconds += time.time() - start
        if "lab2-scale" in course.tags(cell):
            namespace["SCALE"].update(mlp_epochs=mlp_epochs, cnn_epochs=cnn_epochs)
    return seconds


def run_floor(experiment, data, mlp_epochs, cnn_epochs):
    """The lower bound for an MLP epoch at the handout's batch size: the lab's Network with the notebook's own
    activations (those this experiment trains), forward + backward + SGD step only, on batches sliced before
    the clock starts: no shuffling, no statistics, no plotting. Returns the fastest of at least 3 epochs,
    averaged over the activations, in seconds."""
    ns = {}
    run_lab(None, data, mlp_epochs, cnn_epochs, ns)
    torch, device = ns["torch"], ns["device"]
    (train_x, train_y), _ = ns["get_data"]()
    train_x = train_x.flatten(1)
    batches = [(train_x[s:s + 64], train_y[s:s + 64]) for s in range(0, len(train_y), 64)]
    fastest = []
    for activation in FLOOR_ACTIVATIONS[experiment]:
        torch.manual_seed(42)
        model = ns["Network"](input_dim=784, output_dim=10, activation_name=activation, num_layers=2).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
        criterion = torch.nn.CrossEntropyLoss()
        epochs = []
        for _ in range(max(mlp_epochs, 3)):
            start = time.time()
            for data_batch, target in batches:
                optimizer.zero_grad()
                loss = criterion(model(data_batch), target)
                loss.backward()
                optimizer.step()
            loss.item()  # waits for the device
            epochs.append(time.time() - start)
        fastest.append(min(epochs))  # a bound: the machine's noise only ever adds time
    return sum(fastest) / len(fastest)


def one(args):
    runner = {"handout": run_handout, "lab": run_lab, "floor": run_floor}[args.one[0]]
    seconds = runner(args.one[1], Path(args.data), args.mlp_epochs, args.cnn_epochs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"seconds": seconds, "peak_mb": peak_mb}))


def measure(impl, experiment, args):
    out = subprocess.run([sys.executable, __file__, "--one", impl, experiment, "--data", args.data,
                          "--mlp-epochs", str(args.mlp_epochs), "--cnn-epochs", str(args.cnn_epochs)],
                         capture_output=True, text=True)
    line = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    if not line:
        sys.exit(f"{impl} {experiment} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    result = json.loads(line[0][7:])
    print(f"  {experiment:20s} {impl:8s} {result['seconds']:8.2f} s", flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlp-epochs", type=int, default=1)
    parser.add_argument("--cnn-epochs", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="the handout's epoch counts (5 MLP, 15 CNN)")
    parser.add_argument("--experiments", nargs="*", default=list(EXPERIMENTS), choices=EXPERIMENTS)
    parser.add_argument("--impls", nargs="*", default=["handout", "lab"], choices=["handout", "lab"],
                        help="which code to run (both by default; ratios need both)")
    parser.add_argument("--data", default=str(HERE / "results" / "data"))
    parser.add_argument("--mnist", default=str(prepare_data.DEFAULT_SHARED),
                        help="folder with the official MNIST test split (.gz) to tile the data from")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.full:
        args.mlp_epochs, args.cnn_epochs = FULL
    if args.one:
        return one(args)

    import torch
    print(f"data: {build_data(Path(args.data), Path(args.mnist))}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"device {'cuda: ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}; "
          f"{args.mlp_epochs} MLP epoch(s), {args.cnn_epochs} CNN epoch(s) per model\n")
    results = {(experiment, impl): measure(impl, experiment, args)
               for experiment in args.experiments for impl in args.impls}
    floors = {e: measure("floor", e, args)["seconds"] for e in args.experiments if e in FLOOR_ACTIVATIONS}

    def per_epoch(experiment, impl):
        return results[(experiment, impl)]["seconds"] / MODEL_EPOCHS[experiment][impl](args.mlp_epochs, args.cnn_epochs)

    head = f"\n{'experiment':20s}" + "".join(f" {impl + ' s':>10s} {'s/epoch ' + impl:>16s} {'peak MB ' + impl:>16s}"
                                           for impl in args.impls)
    both = len(args.impls) == 2
    head += f" {'ratio':>6s} {'epoch ratio':>12s}" if both else ""
    print(head + "\n" + "-" * (len(head) - 1))
    total = dict.fromkeys(args.impls, 0.0)
    for experiment in args.experiments:
        row = f"{experiment:20s}"
        for impl in args.impls:
            r = results[(experiment, impl)]
            row += f" {r['seconds']:10.1f} {per_epoch(experiment, impl):16.2f} {r['peak_mb']:16.0f}"
            total[impl] += per_epoch(experiment, impl) * MODEL_EPOCHS[experiment][impl](*FULL)
        if both:
            h, l = (results[(experiment, impl)]["seconds"] for impl in ("handout", "lab"))
            row += f" {h / l:6.1f} {per_epoch(experiment, 'handout') / per_epoch(experiment, 'lab'):12.1f}"
        print(row)
    if floors:
        print("\nfloor: the bare training step of the lab's MLP (its own activations, batch 64; no shuffling, "
              "statistics or plots), fastest of 3 epochs, s/epoch:")
        for experiment, floor in floors.items():
            line = f"  {experiment:20s} {floor:.2f}"
            if "handout" in args.impls:
                line += (f"; the handout's {per_epoch(experiment, 'handout'):.2f} s/epoch allows at most "
                         f"{per_epoch(experiment, 'handout') / floor:.1f}x per epoch at this batch size")
            print(line)
    how = "measured" if (args.mlp_epochs, args.cnn_epochs) == FULL else "projected from the epochs above"
    which = "the whole lab" if set(args.experiments) == set(EXPERIMENTS) else ", ".join(args.experiments)
    print(f"\nfull scale, {which} ({how}): " + ", ".join(f"{impl} {total[impl] / 60:.1f} min" for impl in args.impls)
          + (f", {total['handout'] / total['lab']:.1f}x faster" if both else ""))


if __name__ == "__main__":
    main()
