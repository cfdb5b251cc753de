"""A test cell's outputs as graded: the kernel's outputs become plain text (an error raised in the kernel costs
nothing by itself), then the compared numbers, then, when the verdict fails, one error with the Chinese message.
nbgrader's SaveAutoGrades scores a test cell by the presence of an error output, so the points are exactly the
verdict."""
from nbformat.notebooknode import NotebookNode

from grading import lab2_probe


def shown(outputs):
    """The kernel's outputs of a test cell as plain text: what the student's code printed or raised inside the
    kernel is shown, but only the verdict decides the points (no error, stderr or execute_result is kept)."""
    result = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
        elif kind == "error":
            error = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            text = f"[可见测试报错;这个单元的得分以下面隐藏测试的判定为准] {error}\n"
        elif kind in ("execute_result", "display_data"):
            if lab2_probe.MIME in output.get("data", {}):
                continue
            text = output.get("data", {}).get("text/plain", "")
            text = text + "\n" if text and not text.endswith("\n") else text
        else:
            continue
        if text:
            if result and result[-1].text is not None and result[-1].name == "stdout":
                result[-1].text += text
            else:
                result.append(NotebookNode(output_type="stream", name="stdout", text=text))
    return result


def verdict_outputs(verdict):
    lines = "".join(f"{line}\n" for line in verdict.lines)
    outputs = [NotebookNode(output_type="stream", name="stdout",
                            text=f"隐藏测试:{'通过' if verdict.passed else '未通过'}\n{lines}")]
    if not verdict.passed:
        outputs.append(NotebookNode(output_type="error", ename="AssertionError", evalue=verdict.message,
                                    traceback=[f"AssertionError: {verdict.message}"]))
    return outputs
