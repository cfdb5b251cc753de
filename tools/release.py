"""Regenerate the student release from the instructor's master, and the root copy from the release.

    python tools/release.py               # source/ -> release/ (nbgrader generate_assignment) -> ./lab2_regularization.ipynb
    python tools/release.py --check       # regenerate in a temporary copy; exit 1 if the committed files differ
    python tools/release.py --new DIR     # a new course in DIR, made from this one (tools/demo.sh's scratch course)

All three work on the course in the current folder, or on --course DIR.
source/lab2_regularization/lab2_regularization.ipynb is the one file to edit; the other two are generated. Parts
of the master are generated too, and this command rewrites them before generating the release: the rules cell
(grade id lab2_rules), the visible tests' advice (grading/rules/advice.py and the modules it imports, bundled) with
what it needs from the parts' declarations, its source hidden; and the opening points table, from the declarations
(tools/points.py, which also rewrites README.md's points blocks). Run it after any change to grading/parts/.
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import ast
import base64
import sys
import tempfile
import zlib
from pathlib import Path

import course
from grading import parts, rules_cell
from grading.rules import advice
from tools import points

RULES_CELL = rules_cell.CELL_ID  # the grade id of the generated rules cell
ADVICE_SEED = 20241127     # the advice's own inputs (the grader draws new ones every run)


def advice_data():
    """grade id -> what the advice needs to apply the grader's rules to one test (grading/rules/advice.py: advise)."""
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


def advice_modules(folder):
    """[(name, source)] of grading/rules/advice.py and the modules it imports (relatively), each after those it
    imports: what the rules cell holds, and nothing else of the grader."""
    package = Path(folder) / "grading" / "rules"
    order = []

    def visit(name):
        if name in (n for n, _ in order):
            return
        source = (package / f"{name}.py").read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                for imported in [node.module] if node.module else [a.name for a in node.names]:
                    visit(imported)
        order.append((name, source))

    visit("advice")
    return order


LOADER = """def _lab2_rules(bundle):
    import ast, base64, sys, types, zlib
    modules, data = ast.literal_eval(zlib.decompress(base64.b64decode(bundle)).decode())
    package = sys.modules["lab2_rules"] = types.ModuleType("lab2_rules")
    package.__path__ = []
    for name, source in modules:  # grading/rules/: the advice and the modules it imports, each after its imports
        module = sys.modules["lab2_rules." + name] = types.ModuleType("lab2_rules." + name)
        module.__package__ = "lab2_rules"
        exec(compile(source, "lab2_rules/" + name + ".py", "exec"), module.__dict__)
        setattr(package, name, module)
    package.advice.ADVICE.update(data)
    return package.advice
"""


def rules_cell_source(folder):
    """The rules cell: a few lines that load the advice's modules (grading/rules/, as they are) and its data from
    one compressed literal, as a package of the student's kernel (lab2_rules); the cell's source is hidden."""
    bundle = repr((advice_modules(folder), advice_data())).encode("utf-8")
    packed = base64.b64encode(zlib.compress(bundle, 9)).decode("ascii")
    return (f"{advice.CELL_MARK}(由 tools/release.py 从 grading/rules/ 生成,请勿修改)----\n"
            "# 每个测试单元先运行 lab2_rules.advise(...):它用评分程序的同一份规则提示你,这一部分的代码是否用了不允许的\n"
            "# 运算、把数据移出了 torch、在导数里用了自动求导,或者写了评分程序读不懂、要交给助教复核的代码。这里只是\n"
            "# 提示;评分时在内核之外、用同样的规则判定。\n"
            + LOADER + "\n\n"
            f"lab2_rules = _lab2_rules({packed!r})\n"
            "del _lab2_rules\n")


def rules_cell_fresh(cell, folder):
    """Whether the master's rules cell is as generated: its source, and its source hidden."""
    return cell.source == rules_cell_source(folder) and cell.metadata.get("jupyter", {}).get("source_hidden") is True


def write_rules_cell(folder):
    """Rewrite the master's rules cell from grading/rules/ and the declarations; True when it changed."""
    path = course.source_nb(folder)
    nb = course.read(path)
    cell = next(c for c in nb.cells if course.meta(c).get("grade_id") == RULES_CELL)
    if rules_cell_fresh(cell, folder):
        return False
    cell.source = rules_cell_source(folder)
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    import nbformat
    nbformat.write(nb, str(path))
    return True


def check(folder, fresh_course=None):
    """Names of the course's committed generated files that differ from a fresh generation (`fresh_course`: one made
    from `folder` by course.copy_course; default: one made here, in a temporary folder)."""
    folder = Path(folder).resolve()
    stale = []
    cell = next(c for c in course.read(course.source_nb(folder)).cells if course.meta(c).get("grade_id") == RULES_CELL)
    if not rules_cell_fresh(cell, folder):
        stale.append(f"the master's rules cell ({RULES_CELL})")
    stale += points.stale(folder)
    if fresh_course is not None:
        fresh = course.release_nb(fresh_course).read_bytes()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = course.release_nb(course.copy_course(Path(tmp), src=folder)).read_bytes()
    committed = {"release/" + course.ASSIGNMENT + "/" + course.NOTEBOOK: course.release_nb(folder),
                 course.NOTEBOOK: folder / course.NOTEBOOK}
    return stale + [name for name, path in committed.items() if not path.exists() or path.read_bytes() != fresh]


def regenerate(folder):
    """The master's generated cells, README's points blocks, then the release and the root copy; return the release."""
    if write_rules_cell(folder):
        print(f"rewrote the master's rules cell ({RULES_CELL}) from grading/rules/")
    for what in points.write(folder):
        print(f"rewrote {what} from grading/parts/")
    return course.generate_release(folder)


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
        release = regenerate(folder)
        print(f"wrote {release.relative_to(folder)} and {course.NOTEBOOK}")


if __name__ == "__main__":
    main()
