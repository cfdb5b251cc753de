"""Build an MNIST-format data folder (<dest>/MNIST/raw/) that torchvision's own MNIST loader reads.

The real training split cannot be downloaded on the course's build machines. This script fills the
folder from what is there, in this order:
  1. nothing to do when <dest>/MNIST/raw/ already holds the four MNIST files (.gz or extracted);
  2. the official test split in ../shared/mnist/ (10,000 real digits): its first 8,000 digits become
     a stand-in training split and the last 2,000 the test split;
  3. otherwise a small synthetic stand-in (10 digit-like classes, 3,000 + 1,000 images), so that the
     pipeline still runs; its figures say nothing about MNIST.
A STAND-IN.txt beside the files says which stand-in it is; put the real files there to replace it.

    python tools/prepare_data.py [--dest data] [--shared ../shared/mnist]
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import gzip
import struct
from pathlib import Path

import numpy as np

from course import ROOT

FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
DEFAULT_SHARED = ROOT.parent / "shared" / "mnist"


def has_mnist(raw: Path) -> bool:
    return all((raw / name).exists() or (raw / f"{name}.gz").exists() for name in FILES.values())


def read_idx(path: Path) -> np.ndarray:
    data = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">IIII", 2051, *array.shape) if array.ndim == 3 else struct.pack(">II", 2049, len(array))
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes of blurred random strokes on a 28x28 canvas, with noise and small shifts."""
    prototypes = np.random.default_rng(1234).random((10, 28, 28)) < 0.08
    kernel = np.ones(3) / 3
    blur = lambda a, axis: np.apply_along_axis(lambda v: np.convolve(v, kernel, "same"), axis, a)
    prototypes = blur(blur(prototypes.astype(float), 1), 2)
    prototypes /= prototypes.max(axis=(1, 2), keepdims=True)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = prototypes[labels] + 0.25 * rng.random((n, 28, 28))
    shifts = rng.integers(-1, 2, (n, 2))
    images = np.stack([np.roll(img, tuple(s), axis=(0, 1)) for img, s in zip(images, shifts)])
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), labels.astype(np.uint8)


def build_mnist_folder(dest: Path, shared: Path = DEFAULT_SHARED, n_train: int = 8000) -> str:
    """Fill dest/MNIST/raw/ and return a sentence saying what is there."""
    raw = Path(dest) / "MNIST" / "raw"
    if has_mnist(raw):
        return f"{raw}: MNIST files already there, left unchanged"
    raw.mkdir(parents=True, exist_ok=True)
    shared = Path(shared)
    if (shared / "t10k-images-idx3-ubyte.gz").exists() and (shared / "t10k-labels-idx1-ubyte.gz").exists():
        images = read_idx(shared / "t10k-images-idx3-ubyte.gz")
        labels = read_idx(shared / "t10k-labels-idx1-ubyte.gz")
        split = {"train": (images[:n_train], labels[:n_train]), "test": (images[n_train:], labels[n_train:])}
        what = (f"stand-in built from the official MNIST test split in {shared}: "
                f"{n_train} real digits as the training split, {len(labels) - n_train} as the test split")
    else:
        split = {"train": synthetic_digits(3000, seed=1), "test": synthetic_digits(1000, seed=2)}
        what = "synthetic stand-in (no MNIST files found): 3000 + 1000 digit-like images, not MNIST"
    for part in ("train", "test"):
        write_idx(raw / FILES[f"{part}_images"], split[part][0])
        write_idx(raw / FILES[f"{part}_labels"], split[part][1])
    (raw.parent / "STAND-IN.txt").write_text(
        what + "\nReplace the four files in raw/ with the real MNIST files to run the full lab.\n", encoding="utf-8")
    return f"{raw}: {what}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", default="data", help="the data folder (default: data/ in the current folder)")
    parser.add_argument("--shared", default=str(DEFAULT_SHARED))
    args = parser.parse_args()
    print(build_mnist_folder(Path(args.dest), Path(args.shared)))


if __name__ == "__main__":
    main()
