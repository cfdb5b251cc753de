"""The course's points are the declarations' everywhere: the master's opening table ("共 … 分") and the README's
blocks are generated from grading/parts/ (tools/points.py), and the README's figures in its prose are checked."""
import re

from course import ROOT, read, source_nb
from grading import parts
from tools import points

README = ROOT / "README.md"
AUTO, MANUAL = points.auto_points(), points.manual_points()


def test_the_readme_blocks_are_generated_from_the_declarations():
    text = README.read_text(encoding="utf-8")
    for name, block in points.readme_blocks().items():
        found = re.search(re.escape(points.readme_begin(name)) + r"\n(.*?)\n" + re.escape(points.README_END), text, re.S)
        assert found, f"README.md has no block {points.readme_begin(name)!r} ... {points.README_END!r}"
        assert found.group(1) == block, f"README.md's block ({name}) is stale: run python tools/release.py"


def test_the_masters_points_table_is_generated_from_the_declarations():
    cell = points.master_cell(read(source_nb()))
    assert points.master_table() in cell.source, "the master's points table is stale: run python tools/release.py"
    assert f"(共 {parts.TOTAL:g} 分)" in points.master_table()


def test_the_readme_figures_are_the_declarations():
    """Every figure of the README's prose that tools/points.py keeps (readme_figures) is there, and is the declarations'."""
    text = README.read_text(encoding="utf-8")
    for pattern, figure, what in points.readme_figures():
        found = re.findall(pattern, text)
        assert found, f"README.md no longer gives {what} as {pattern!r}: say it so again, or drop it from tools/points.py"
        wrong = [f for f in found if float(f) != figure]
        assert not wrong, f"README.md gives {what} as {wrong}, the declarations as {figure:g}: run python tools/release.py"


def test_the_tables_say_what_the_declarations_say():
    """The generated tables from the declarations' own figures (so a mistake in tools/points.py cannot hide)."""
    master = points.master_table()
    assert master.count("\n| ") == 3 + len(points.sections())  # the header, its line, a row per section, the 思考题
    assert sum(float(n) * float(p) if n else float(p)
               for n, p in re.findall(r"\| (?:(\d+) × )?(\d+(?:\.\d+)?) 分 \|", master)) == parts.TOTAL
    block = points.points_block()
    assert all(f"| `{p.name}` | `{p.code}` |" in block and f"| {p.points:g} |" in block for p in parts.PARTS)
    assert f"**{parts.TOTAL:g}**: {AUTO:g} autograded, {MANUAL:g} by hand" in block
