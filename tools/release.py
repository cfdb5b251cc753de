"""Regenerate the student release from the instructor's master, and the root copy from the release.

    python tools/release.py               # source/ -> release/ (nbgrader generate_assignment) -> ./lab2_regularization.ipynb
    python tools/release.py --check       # regenerate in a temporary copy; exit 1 if the committed files differ
    python tools/release.py --new DIR     # a new course in DIR, made from this one (tools/demo.sh's scratch course)

All three work on the course in the current folder, or on --course DIR.
source/lab2_regularization/lab2_regularization.ipynb is the one file to edit; the other two are generated. One
cell of the master is generated too: the rules cell (grade id lab2_rules), a copy of grading/rules.py with what the
visible tests' advice needs from the parts' declarations; this command rewrites it before generating the release.
"""
import argparse
import sys
import tempfile
import textwrap
from pathlib import Path

import course
from grading import parts, rules

RULES_CELL = rules.CELL_ID  # the grade id of the generated rules cell
ADVICE_SEED = 20241127     # the advice's own inputs (the grader draws new ones every run)


def advice_data():
    """grade id -> what the advice needs to apply the grader's rules to one test (grading/rules.py: advise)."""
    data = {}
    for part in parts.PARTS:
        for test in part.tests:
            plan = test.plan(ADVICE_SEED)
            method = plan.get("method")
            data[test.grade_id] = {
                "part": part.name, "obj": part.obj, "ops": part.ops, "in_torch": part.in_torch,
                "derivative": part.derivative, "derivative_test": method == "derivative",
                "what": f"{part.obj}.{method}" if method else part.code, "reference": test.reference, "plan": plan}
    return data


def literal(data):
    """The advice's data as a Python literal, one test to a line."""
    return "{\n" + "".join(f"    {key!r}: {value!r},\n" for key, value in data.items()) + "}"


def rules_cell_source(folder):
    """The rules cell: grading/rules.py as it is, inside a function (its names stay out of the student's), with the
    advice's data."""
    code = (Path(folder) / "grading" / "rules.py").read_text(encoding="utf-8")
    assert "\'\'\'" not in code, "grading/rules.py must not hold three single quotes"
    return (f"{rules.CELL_MARK}(由 tools/release.py 从 grading/rules.py 生成,请勿修改)----\n"
            "# 每个测试单元先运行 lab2_rules.advise(...):它用评分程序的同一份规则提示你,这一部分的代码是否用了不允许的\n"
            "# 运算、把数据移出了 torch、在导数里用了自动求导,或者写了评分程序读不懂、要交给助教复核的代码。这里只是\n"
            "# 提示;评分时在内核之外、用同样的规则判定。展开这个单元就能读到全部规则。\n"
            "import types\n\n\n"
            "def _lab2_rules(advice):\n" + textwrap.indent(code, "    ") +
            "    ADVICE.update(advice)\n"
            "    return types.SimpleNamespace(**{k: v for k, v in locals().items() if not k.startswith('__')})\n\n\n"
            f"lab2_rules = _lab2_rules({literal(advice_data())})\n"
            "del _lab2_rules\n")


def write_rules_cell(folder):
    """Rewrite the master's rules cell from grading/rules.py and the declarations; True when it changed."""
    path = course.source_nb(folder)
    nb = course.read(path)
    cell = next(c for c in nb.cells if course.meta(c).get("grade_id") == RULES_CELL)
    fresh = rules_cell_source(folder)
    if cell.source == fresh:
        return False
    cell.source = fresh
    import nbformat
    nbformat.write(nb, str(path))
    return True


def check(folder):
    """Names of the course's committed generated files that differ from a fresh generation."""
    folder = Path(folder).resolve()
    stale = []
    cell = next(c for c in course.read(course.source_nb(folder)).cells if course.meta(c).get("grade_id") == RULES_CELL)
    if cell.source != rules_cell_source(folder):
        stale.append(f"the master's rules cell ({RULES_CELL})")
    with tempfile.TemporaryDirectory() as tmp:
        fresh = course.release_nb(course.copy_course(Path(tmp), src=folder)).read_bytes()
    committed = {"release/" + course.ASSIGNMENT + "/" + course.NOTEBOOK: course.release_nb(folder),
                 course.NOTEBOOK: folder / course.NOTEBOOK}
    return stale + [name for name, path in committed.items() if not path.exists() or path.read_bytes() != fresh]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    parser.add_argument("--check", action="store_true", help="only compare, change nothing")
    parser.add_argument("--new", metavar="DIR", help="make a new course in DIR (its config, grading/, source/ and "
                                                     "release) instead of regenerating this one's release")
    args = parser.parse_args()
    folder = Path(args.course).resolve()
    if not course.source_nb(folder).exists():
        sys.exit(f"{folder} is not a course folder: it has no {course.source_nb(folder).relative_to(folder)}")
    if args.new:
        print(f"new course in {course.copy_course(Path(args.new), src=folder)}")
    elif args.check:
        stale = check(folder)
        if stale:
            sys.exit(f"out of date with source/: {', '.join(stale)} -- run: python tools/release.py")
        print("release/ and the root copy match source/")
    else:
        if write_rules_cell(folder):
            print(f"rewrote the master's rules cell ({RULES_CELL}) from grading/rules.py")
        release = course.generate_release(folder)
        print(f"wrote {release.relative_to(folder)} and {course.NOTEBOOK}")


if __name__ == "__main__":
    main()
