"""Code in cell magics: the body of %%capture / %%time is Python, read like any cell."""
from .kit import CORRECT, POLICY, SIGMOID_DERIVATIVE, TAMPER, tests_after

ORDER = 140


def variants(kit):
    add, sol, relu, sig, source_nb = kit.add, kit.sol, kit.relu, kit.sig, kit.source_nb
    same = SIGMOID_DERIVATIVE
    fam = "code in cell magics"
    add("sigmoid_in_capture_magic", POLICY, {"sigmoid_impl": "%%capture\n" + sig("return torch.sigmoid(x)", same)[
        "sigmoid_impl"]}, {"sigmoid_value"}, family=fam, mistakes={"sigmoid_op_not_allowed"})
    after_relu = tests_after(source_nb, "relu_impl")
    add("relu_recorder_off_in_capture_magic", TAMPER, {"relu_impl": "%%capture\n" + relu(
        "with torch._C.DisableTorchFunction():\n            return torch.relu(x)", "return (x > 0).to(x.dtype)")[
        "relu_impl"]}, after_relu, review_from="relu_impl", reported="tampering with the grading kernel (recorder_evasion",
        family=fam)
    add("frame_walk_in_time_magic", TAMPER, {"relu_impl": "%%time\n" + sol["relu_impl"] +
                                             "\nimport sys\n_caller = sys._getframe(0).f_back\n"},
        after_relu, review_from="relu_impl", reported="tampering with the grading kernel (frame_walk", family=fam)
    add("correct_time_magic_on_answer", CORRECT, {"relu_impl": "%%time\n" + sol["relu_impl"]}, family="honest forms")
    add("correct_capture_magic_on_answer", CORRECT, {"sigmoid_impl": "%%capture\n" + sol["sigmoid_impl"]},
        family="honest forms")
