"""The tests' inputs: the tensor an input spec describes, built alike by the probe in the kernel, the grader outside
it and the visible tests' advice (loaded like recorder.py: it imports nothing of the course)."""
import torch

# taken when this file loads: later patches of torch by student code do not change the inputs built here
_linspace, _randn, _rand, _cat, _clamp, _tensor, _Generator = (torch.linspace, torch.randn, torch.rand, torch.cat,
                                                               torch.clamp, torch.tensor, torch.Generator)
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def materialize(spec):
    """The tensor an input spec describes; the grading process builds the same tensor from the same spec."""
    kind, dtype = spec["kind"], DTYPES[spec.get("dtype", "float32")]
    gen = _Generator().manual_seed(int(spec.get("seed", 0)))
    if kind == "activation":  # a grid over [lo, hi], small values around 0, exact zeros, random points
        lo, hi, n = float(spec["lo"]), float(spec["hi"]), int(spec["n"])
        edges = _tensor([0.0, -0.0, 1.0, -1.0, lo, hi], dtype=dtype)
        grid = _linspace(lo, hi, 2001, dtype=dtype)
        small = _linspace(-1e-3, 1e-3, 201, dtype=dtype)
        rnd = _clamp(_randn((n,), generator=gen, dtype=dtype) * 4.0, lo, hi)
        return _cat([edges, grid, small, rnd])[:n]
    shape = tuple(int(s) for s in spec["shape"])
    if kind == "randn":
        return _randn(shape, generator=gen, dtype=dtype)
    if kind == "rand_plus_one":  # every element in [1, 2): none is 0, so a 0 in the output was dropped
        return _rand(shape, generator=gen, dtype=dtype) + 1.0
    if kind == "values":
        return _tensor(spec["values"], dtype=dtype).reshape(shape)
    raise ValueError(f"unknown input kind {kind!r}")
