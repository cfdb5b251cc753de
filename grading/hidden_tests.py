"""The hidden-test protocol: a test cell's visible tests and its hidden line, the request the kernel receives (the
hidden line with this run's plan), and the probe's message read back from the request's outputs.

The hidden region of every test cell is one call `lab2_probe.check('<its grade id>', name, ...)`
(tests/test_metadata.py checks it); the probe answers with one display_data of MIME lab2_probe.MIME that carries
the request's token, its arrays (an npz) the message's one binary buffer. Anything else (no message, or forged extra
ones) is nothing to trust.
"""
import ast
import base64
import json

import course
from grading import lab2_probe


BUFFERS = "lab2_buffers"  # the key of a grader's request's display_data output that holds its message's binary buffers


def split_test(source, grade_id):
    """(the visible tests, the hidden test's probe call) of a test cell."""
    match = course.HIDDEN.search(source)
    if match is None:
        raise ValueError(f"{grade_id}: no hidden test region")
    calls = [node.value for node in ast.parse(match.group(1)).body
             if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
             and ast.unparse(node.value.func) == "lab2_probe.check"]
    if len(calls) != 1 or not calls[0].args or getattr(calls[0].args[0], "value", None) != grade_id \
            or not all(isinstance(a, ast.Name) for a in calls[0].args[1:]):
        raise ValueError(f"{grade_id}: the hidden test must be exactly one lab2_probe.check('{grade_id}', name, ...)")
    return source[:match.start()] + source[match.end():], calls[0]


def probe_request(call, plan):
    """The hidden test's line as the kernel receives it: with this run's plan."""
    call = ast.Call(func=call.func, args=call.args,
                    keywords=[ast.keyword("plan", ast.Constant(base64.b64encode(json.dumps(plan).encode()).decode()))])
    return "import lab2_probe\n" + ast.unparse(ast.fix_missing_locations(call))


def cell_requests(token, grade_id):
    """The two requests around an answer cell: the probe records what it runs (lab2_probe.begin_cell / end_cell)."""
    return (f"import lab2_probe\nlab2_probe.begin_cell({token!r})",
            f"import lab2_probe\nlab2_probe.end_cell({token!r}, {grade_id!r})")


def probe_message(outputs, token):
    """(the probe's message: its text and its npz, the kernel's error text) from the outputs of the probe request
    (a display_data's binary buffers are its BUFFERS, kept by grading/safe_execute.py for the grader's requests)."""
    messages, error = [], None
    for output in outputs:
        text = output.get("data", {}).get(lab2_probe.MIME) if output.get("output_type") == "display_data" else None
        if isinstance(text, str) and f'"token": "{token}"' in text:
            buffers = output.get(BUFFERS) or []
            messages.append((text, buffers[0] if len(buffers) == 1 else None))  # None: lab2_grader.decode refuses it
        if output.get("output_type") == "error":
            error = f"{output.get('ename', '')}: {output.get('evalue', '')}"[:300]
    if len(messages) != 1:  # none, or forged extra ones: nothing to trust
        return None, error or (f"{len(messages)} 条数据" if messages else None)
    return messages[0], error
