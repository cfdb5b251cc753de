"""grading/hidden_tests.py: a test cell's visible tests and hidden line, the request the kernel receives, and the
one message of the probe that is trusted."""
import base64
import json

import pytest
from nbformat.notebooknode import NotebookNode

from course import is_test, meta
from grading import lab2_probe
from grading.hidden_tests import BUFFERS, probe_message, probe_request, split_test


def first_test_cell(source_nb):
    return next(c for c in source_nb.cells if is_test(c))


def test_the_hidden_line_is_split_off_and_the_request_carries_the_plan(source_nb):
    cell = first_test_cell(source_nb)
    grade_id = meta(cell)["grade_id"]
    visible, call = split_test(cell.source, grade_id)
    assert "lab2_probe.check" not in visible and "BEGIN HIDDEN" not in visible
    request = probe_request(call, {"token": "abc", "grade_id": grade_id})
    assert request.startswith(f"import lab2_probe\nlab2_probe.check('{grade_id}', ")
    plan = request.split("plan='", 1)[1].rstrip("')")
    assert json.loads(base64.b64decode(plan)) == {"token": "abc", "grade_id": grade_id}


def test_a_hidden_region_that_is_not_one_probe_call_is_refused():
    with pytest.raises(ValueError, match="no hidden test region"):
        split_test("print(1)", "relu_value")
    source = ("x = 1\n### BEGIN HIDDEN TESTS\nlab2_probe.check('relu_value', MyReLU)\n"
              "lab2_probe.check('relu_value', MyReLU)\n### END HIDDEN TESTS\n")
    with pytest.raises(ValueError, match="exactly one"):
        split_test(source, "relu_value")


def data(text, buffers=(b"npz",)):
    return NotebookNode(output_type="display_data", data={lab2_probe.MIME: text}, metadata={}, **{BUFFERS: list(buffers)})


def test_only_one_message_with_the_token_is_trusted():
    good = json.dumps({"token": "t1", "x": 1})
    assert probe_message([data(good)], "t1") == ((good, b"npz"), None)
    assert probe_message([data(json.dumps({"token": "other"}))], "t1") == (None, None)
    assert probe_message([data(good), data(good)], "t1") == (None, "2 条数据")  # a forged second one
    # its npz is its one binary buffer: none, or several, is no npz (lab2_grader.decode refuses it)
    assert probe_message([data(good, ())], "t1") == ((good, None), None)
    assert probe_message([data(good, (b"a", b"b"))], "t1") == ((good, None), None)
    error = NotebookNode(output_type="error", ename="NameError", evalue="name 'MyReLU' is not defined", traceback=[])
    assert probe_message([error], "t1") == (None, "NameError: name 'MyReLU' is not defined")
