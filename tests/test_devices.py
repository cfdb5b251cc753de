"""The graded calls where the lab runs: on the meta device on any grader (a CPU tensor mixed in fails there as on a
GPU; grading/judging.py: judge_device), and on CUDA where there is a GPU (marked `cuda`, skipped without one)."""
import nbformat
import pytest
import torch
from torch import nn

from course import source_nb
from grading import lab2_grader, lab2_probe, parts
from tools import submissions

DEVICE_TESTS = [gid for gid, (_, test) in parts.TESTS.items()
                if any(case.get("device") for case in test.plan(1)["cases"])]


def master_objects():
    namespace = {"torch": torch, "nn": nn}
    solutions = submissions.solutions(nbformat.read(str(source_nb()), as_version=4))
    for part in parts.PARTS:
        exec(solutions[part.answer], namespace)
    return namespace


def verdict(grade_id, obj, device="meta"):
    plan = lab2_grader.plan(grade_id, 5, token="t")
    for case in plan["cases"]:
        if case.get("device"):
            case["device"] = device
    return lab2_grader.judge(grade_id, plan, lab2_probe.encode(*lab2_probe.collect(plan, (obj,))))


class OnesDerivative:
    """MyReLU with a derivative built on the CPU alone: torch.ones(x.shape) has no device=."""

    def __call__(self, x):
        return torch.maximum(x, torch.zeros_like(x))

    def derivative(self, x):
        return torch.where(x > 0, torch.ones(x.shape), torch.zeros(x.shape))


def cpu_mask_dropout(X, dropout):
    if dropout in (0, 1):
        return X * (1 - dropout)
    return (torch.rand(X.shape) > dropout).to(X.dtype) * X / (1 - dropout)


def test_every_part_with_rules_has_calls_on_another_device():
    """Every part whose code has rules (an allowlist: it runs where the lab runs, on CUDA or the CPU) calls it once more
    on the meta device in some test's plan, and only those parts (Network.forward is graded with the grader's own
    activation)."""
    on_device = {parts.part_of(gid).name for gid in DEVICE_TESTS}
    for p in parts.PARTS:
        assert p.ops is None or p.name in on_device, (
            f"the part {p.name} (grading/parts/{p.name}.py) has rules (ops={p.ops!r}) but no test calls its code on "
            "another device: add to one test's plan a case on the meta device, e.g. {'args': [{'input': 'x32'}], "
            "'device': 'meta'}, and judge it with judging.judge_device(compared, call, part, what, case['device'], "
            "x.dtype, shape=...) (grading/parts/l2.py: ON_DEVICE and judge_value show one; tools/new_part.py writes one), "
            "with judging.DEVICE among that Test's mistakes")
        assert p.ops is not None or p.name not in on_device, f"{p.name} has no rules, yet a test runs it on a device"


def _device_verdicts(device):
    objects = master_objects()
    for grade_id in DEVICE_TESTS:
        result = verdict(grade_id, objects[parts.part_of(grade_id).obj], device)
        assert result.passed, (grade_id, result.mistake, result.message)
        assert any(f"输入在 {device}" in line for line in result.lines), result.lines
    for grade_id, obj in (("relu_derivative", OnesDerivative), ("dropout_mask", cpu_mask_dropout)):
        result = verdict(grade_id, obj, device)
        assert not result.passed and result.mistake == f"{parts.part_name(grade_id)}_device_not_kept", result.mistake
        assert "GPU" in result.message and "device=" in result.message


def test_the_master_keeps_its_device_on_meta_and_a_cpu_only_constructor_loses_its_test():
    _device_verdicts("meta")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_the_same_graded_calls_on_cuda():
    """Where a GPU is present: the calls that run on the meta device elsewhere run on CUDA, with the same verdicts."""
    _device_verdicts("cuda")
