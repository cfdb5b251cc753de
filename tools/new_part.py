"""Add a graded part to the course: everything it needs, written so that the checks pass as they stand.

    python tools/new_part.py NAME [--points 3] [--title TITLE]

NAME is what the student writes, a function `NAME(x)` of one tensor (lower case; underscores are fine: a grade id's
part is the declared name it starts with). This writes, as a working example (NAME(x) = 2x) to edit into the real
part:

- grading/parts/NAME.py: its declaration, one test `NAME_value` worth --points: the plan of inputs (float32 and
  float64, and a call on the meta device, where the lab runs: a GPU), the judgement against its reference with its
  mistake ids, the allowlist of ops (basic) and a typical mistake for the sample class;
- the master (source/lab2_regularization/lab2_regularization.ipynb): a markdown cell with the task, the answer cell
  NAME_impl and the test cell NAME_value (visible checks, then the hidden line), each with a cell id, after the last
  part's tests;
- tests/corpus/NAME.py: its variants, two correct forms and one mistake for each mistake id it declares, each with
  the ids it claims (tests/test_corpus_claims.py: every declared id is claimed);
- grading/parts/__init__.py: COURSE_TOTAL raised by --points (the course's total is an instructor's decision: to keep
  it, lower COURSE_TOTAL again and take the points from other tests);

then runs tools/release.py (the rules cell, the master's points table, README's points, the release). Next: edit
the three files (the README, "To add a part", lists what to change), then `python tools/check_part.py NAME`.
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import builtins
import keyword
import re
import subprocess
import sys
from pathlib import Path

import nbformat

import course
from grading import parts

NAME = re.compile(r"[a-z][a-z0-9_]{0,22}[a-z0-9]|[a-z]")  # 24 characters at most: the files it writes stay in ruff's lines
TOTAL_LINE = re.compile(r"^COURSE_TOTAL = (\d+(?:\.\d+)?)$", re.M)

DECLARATION = '''"""{name}(x): {title}.

Written by tools/new_part.py as a working example, {name}(x) = 2x: change reference (and, if the part
needs them, the inputs, the cases and the judgement) with the master's cells {name}_impl and
{name}_value and the variants in tests/corpus/{name}.py (README, "To add a part")."""
from grading import judging
from grading.judging import Failed
from grading.parts import Part, Test

SHAPES = (((1000,), 32), ((20, 50), 32), ((300,), 64))  # the inputs: their shape and float bits
ON_DEVICE = (0, 2)  # the inputs also passed on the meta device (no data; a tensor made on the CPU fails there as on a GPU)
WHAT = "{name}(x)"


def reference(x):
    """What {name}(x) must return, computed here in float64."""
    return 2 * x


def plan(seed):
    cases = [{{"args": [{{"input": f"x{{i}}"}}]}} for i in range(len(SHAPES))]
    cases += [{{"args": [{{"input": f"x{{i}}"}}], "device": "meta"}} for i in ON_DEVICE]
    return {{"collector": "function",
            "inputs": {{f"x{{i}}": {{"kind": "randn", "dtype": f"float{{bits}}", "shape": list(shape), "seed": seed + i}}
                       for i, (shape, bits) in enumerate(SHAPES)}},
            "cases": cases}}


def judge_value(part, plan, meta, arrays, compared):
    xs = judging.inputs_of(plan)
    judging.warnings_of(compared, meta["calls"])
    for case, call in zip(plan["cases"], meta["calls"], strict=True):
        x = xs[case["args"][0]["input"]]
        if judging.on_device(case):  # where it lives, its shape and dtype (the CPU cases judge the values)
            judging.judge_device(compared, call, part, WHAT, case["device"], x.dtype, shape=tuple(x.shape))
            continue
        judging.ran_within_rules(call, part, WHAT)
        out = judging.tensor(call["out"], arrays, part.name, WHAT, like=x)
        if not judging.unchanged(call, x):
            raise Failed(f"{{part.name}}_modifies_input", f"{{WHAT}} 修改了输入张量 x(原地操作)。请返回新的张量,保持 x 不变。")
        judging.compare(compared, f"{{part.name}}_value_mismatch",
                        f"{{WHAT}} [{{judging.dtype_name(x)}}, 形状 {{tuple(x.shape)}}]", out, reference(x.double()), x)
        judging.kept_dtype(compared, call["out"], x.dtype, part, f"{{WHAT}} [{{judging.dtype_name(x)}}]")


PART = Part(
    name="{name}", order={order}, title="{title}",
    code="{name}", obj="{name}", answer="{name}_impl",
    ops="basic", in_torch=True,
    tests=(Test("{name}_value", {points}, "{title} 的值", plan, judge_value,
                mistakes=("modifies_input", "value_mismatch", judging.DEVICE, judging.DTYPE)),),
    sample_mistake=("return 2 * x", "return 3 * x"),
    sample_fails=("{name}_value",),
)
'''

CORPUS = '''"""{name}: correct forms and one typical mistake per mistake id its test declares, each with the ids it claims
(written by tools/new_part.py for {name}(x) = 2x: write the part's own)."""
from .kit import CORRECT, MISTAKE

ORDER = {order}


def variants(kit):
    add = kit.add
    answer = lambda body: {{"{name}_impl":
                            "def {name}(x):\\n    " + body + "\\n"}}
    value = {{"{name}_value"}}
    add("{name}_x_plus_x", CORRECT, answer("return x + x"))
    add("{name}_mul", CORRECT, answer("return torch.mul(x, 2)"))
    add("{name}_three_x", MISTAKE, answer("return 3 * x"), value,
        mistakes={{"{name}_value_mismatch"}}, message="参考实现")
    add("{name}_in_place", MISTAKE, answer("x *= 2\\n    return x"), value,
        mistakes={{"{name}_modifies_input"}}, message="修改了输入")
    add("{name}_cpu_only", MISTAKE, answer("return x * torch.full(x.shape, 2.0)"), value,
        mistakes={{"{name}_device_not_kept"}}, message="GPU")
    add("{name}_float64", MISTAKE, answer("return (2 * x).double()"), value,
        mistakes={{"{name}_dtype_not_kept"}}, message="float64")
'''

TASK = """#### TODO:实现 `{name}(x)`

({title}:由 tools/new_part.py 生成的示例,请改写成这一部分的说明。){name}(x) 返回 2x:一个与 `x` 形状、dtype、设备
都相同的新张量,不修改 `x`。"""

ANSWER = """def {name}(x):
    # TODO: 实现 {name}(x)
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION"""

TEST = """# 测试 {name} 的值({points} 分)
lab2_rules.advise('{name}_value', {name})  # 评分规则的提示(见上面的评分规则检查单元)
x = torch.tensor([-1.0, 0.0, 2.5])
out = {name}(x)
print('{name}([-1, 0, 2.5]) =', out, '(应为 [-2, 0, 5])')
assert isinstance(out, torch.Tensor) and out.shape == x.shape, '应返回与 x 形状相同的张量'
assert torch.allclose(out, torch.tensor([-2.0, 0.0, 5.0])), f'{name} 的值不对:{{out}}'

### BEGIN HIDDEN TESTS
import lab2_probe
lab2_probe.check('{name}_value', {name})
### END HIDDEN TESTS"""


def refusal(name, folder):
    """Why NAME cannot be a new part of the course in `folder` ('' if it can)."""
    if not NAME.fullmatch(name):
        return f"{name!r} is not a part's name: up to 24 lower-case letters, digits and _, starting with a letter"
    if keyword.iskeyword(name) or hasattr(builtins, name):
        return f"{name!r} is a Python keyword or builtin: the student's code could not define it"
    if name in parts.NAMES + parts.QUESTION_NAMES:
        return f"the course has a part or 思考题 named {name!r} already"
    ids = [gid for p in parts.PARTS for gid in [p.answer, *(t.grade_id for t in p.tests)]]
    ids += [gid for q in parts.QUESTIONS for gid in (q.rubric, q.answer)]
    clash = [gid for gid in ids if gid.startswith(name + "_")]
    if clash:
        return f"the grade id {clash[0]} (of the part {parts.part_name(clash[0])}) would read as a grade id of {name}"
    for path in (folder / "grading" / "parts" / f"{name}.py", folder / "tests" / "corpus" / f"{name}.py"):
        if path.exists():
            return f"{path.relative_to(folder)} exists already"
    master = course.read(course.source_nb(folder))
    used = [course.meta(c).get("grade_id") or c.get("id") for c in master.cells if c.cell_type == "code"
            and re.search(rf"\b{re.escape(name)}\b", c.source)]
    if used:
        return f"the master's code already uses the name {name} (cell {used[0]}): the student's {name} would replace it"
    return ""


def write_cells(folder, name, title, points):
    """The task, answer and test cells, with their ids, after the last part's last test cell."""
    path = course.source_nb(folder)
    nb = nbformat.read(str(path), as_version=4)
    last = parts.PARTS[-1].tests[-1].grade_id
    at = next(i for i, c in enumerate(nb.cells) if course.meta(c).get("grade_id") == last) + 1
    fill = dict(name=name, title=title, points=f"{points:g}")
    answer = nbformat.v4.new_code_cell(ANSWER.format(**fill), metadata={"nbgrader": {
        "grade": False, "grade_id": f"{name}_impl", "locked": False, "schema_version": 3, "solution": True}})
    test = nbformat.v4.new_code_cell(TEST.format(**fill), metadata={"nbgrader": {
        "grade": True, "grade_id": f"{name}_value", "locked": True, "points": points, "schema_version": 3,
        "solution": False}})
    nb.cells[at:at] = [nbformat.v4.new_markdown_cell(TASK.format(**fill)), answer, test]
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def raise_total(folder, points):
    """COURSE_TOTAL in grading/parts/__init__.py, raised by `points`; return (old, new)."""
    path = folder / "grading" / "parts" / "__init__.py"
    text = path.read_text(encoding="utf-8")
    found = TOTAL_LINE.search(text)
    if not found:
        raise SystemExit(f"{path.relative_to(folder)} has no line COURSE_TOTAL = <points>: put it back (see git log)")
    old = float(found.group(1))
    path.write_text(TOTAL_LINE.sub(f"COURSE_TOTAL = {old + points:g}", text, count=1), encoding="utf-8")
    return old, old + points


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="the function the student writes, NAME(x), and the part's name")
    parser.add_argument("--points", type=float, default=3, help="the points of its test cell (default 3)")
    parser.add_argument("--title", help="what it is, for people (feedback, reports; default: NAME)")
    parser.add_argument("--course", default=".", help="the checkout (default: the current folder)")
    args = parser.parse_args()
    folder = Path(args.course).resolve()
    if not course.source_nb(folder).exists() or not (folder / "grading" / "parts").is_dir():
        sys.exit(f"{folder} is not a checkout of the course: it has no {course.source_nb(folder).relative_to(folder)}")
    if folder != course.ROOT:
        sys.exit(f"run it from the checkout it changes ({folder}): this Python's course code is {course.ROOT}'s")
    why = refusal(args.name, folder)
    if why:
        sys.exit(f"no new part: {why}")
    name, title, points = args.name, args.title or args.name, args.points
    if not 0 < len(title) <= 40 or set(title) & set('"\\\n'):
        sys.exit(f"no new part: the title {title!r} must be one line of up to 40 characters without \" or \\")
    order = max(p.order for p in parts.PARTS) + 1
    fill = dict(name=name, title=title, points=f"{points:g}", order=order)
    (folder / "grading" / "parts" / f"{name}.py").write_text(DECLARATION.format(**fill), encoding="utf-8")
    corpus = "".join(p.read_text(encoding="utf-8") for p in (folder / "tests" / "corpus").glob("*.py"))
    corpus_order = 1 + max(int(m) for m in re.findall(r"^ORDER = (\d+)$", corpus, re.M))  # its variants come last
    (folder / "tests" / "corpus" / f"{name}.py").write_text(CORPUS.format(**dict(fill, order=corpus_order)),
                                                              encoding="utf-8")
    write_cells(folder, name, title, points)
    old, new = raise_total(folder, points)
    print(f"wrote grading/parts/{name}.py (the test {name}_value, {points:g} points), tests/corpus/{name}.py "
          f"({CORPUS.count('add(')} variants) and, in the master, the cells {name}_impl and {name}_value after "
          f"{parts.PARTS[-1].tests[-1].grade_id}")
    print(f"the course's total is now {new:g} points, not {old:g} (grading/parts/__init__.py: COURSE_TOTAL); to keep "
          f"{old:g}, set it back and take {points:g} points from other tests' Test(points=...)")
    subprocess.run([sys.executable, str(folder / "tools" / "release.py"), "--course", str(folder)], check=True)
    print(f"next: make it the real part (README, \"To add a part\"), then: python tools/check_part.py {name}")


if __name__ == "__main__":
    main()
