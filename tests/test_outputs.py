"""grading/outputs.py: what a graded test cell shows: the kernel's outputs as plain text, then the verdict."""
from nbformat.notebooknode import NotebookNode

from grading import lab2_probe
from grading.lab2_grader import Verdict
from grading.outputs import shown, verdict_outputs


def test_the_kernels_outputs_become_one_plain_text_stream():
    outputs = [NotebookNode(output_type="stream", name="stdout", text="a\n"),
               NotebookNode(output_type="stream", name="stderr", text="b\n"),
               NotebookNode(output_type="error", ename="AssertionError", evalue="wrong", traceback=["..."]),
               NotebookNode(output_type="execute_result", data={"text/plain": "42"}, metadata={}, execution_count=1),
               NotebookNode(output_type="display_data", data={lab2_probe.MIME: "{}"}, metadata={})]
    [only] = shown(outputs)
    assert only.output_type == "stream" and only.name == "stdout"
    assert only.text == "a\nb\n[可见测试报错;这个单元的得分以下面隐藏测试的判定为准] AssertionError: wrong\n42\n"


def test_a_failed_verdict_is_one_error_and_a_passed_one_none():
    passed = verdict_outputs(Verdict(True, ["max error 1e-9"], "", ""))
    failed = verdict_outputs(Verdict(False, ["max error 0.5"], "relu_wrong", "ReLU 的值不对"))
    assert [o.output_type for o in passed] == ["stream"] and "通过" in passed[0].text
    assert [o.output_type for o in failed] == ["stream", "error"] and failed[1].evalue == "ReLU 的值不对"
