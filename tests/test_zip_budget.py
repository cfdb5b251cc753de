# ruff: noqa: F811  (a pytest fixture imported from test_zip_collect)
"""The LMS import within budgets: `nbgrader zip_collect` (the real CLI, the course's extractor grading/zip_budget.py
and collector grading/lms.py) on one download built here, one archive per case: a zip bomb, a gzip that says
nothing of its size, a zip of zips, `../` and absolute members, links in a tar, names that are not UTF-8. Each case's
archive also holds honest notebooks, each under a student id of its own. Each skipped member is listed in
collect_report.md with its reason, nothing lands outside the folder, the rest of the class is collected. The test
prints, per case, the bytes written on disk (its extracted folder) and the students collected from it. One
zip_collect run with a budget of 5 MiB per file (the bomb's 1 GiB is over the default of 100 MiB too); no grading:
the fast tier runs these."""
import gzip
import io
import os
import re
import shutil
import struct
import tarfile
import zipfile
import zlib

import pytest

from conftest import nbgrader
from test_zip_collect import collected, line_of, notebooks  # noqa: F401  (a fixture)
from course import ASSIGNMENT
from grading.zip_budget import BudgetedExtractor

GIB = 1 << 30
CASES = ("bomb", "gzip", "nested", "escape", "links", "names", "broken")


def zip_bytes(files):
    """A zip in memory: {name: bytes or str}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def bomb():
    """A student's upload of about 1 MB that unpacks to 1 GiB of zeros (its header tells the truth). Deflate of one
    16 MiB block of zeros, flushed so that it stands alone, repeated 64 times: a second to build, not a minute."""
    block = bytes(16 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    data = segment * (GIB // len(block)) + deflate.flush()
    crc = 0
    for _ in range(GIB // len(block)):
        crc = zlib.crc32(block, crc)
    name = b"zeros.ipynb"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), GIB, len(name), 0) + name
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data), GIB, len(name),
                          0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    return local + data + central + end


def tar_bytes(members, **kw):
    """A tar.gz in memory: [(TarInfo, bytes or None)]."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", **kw) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def link(name, kind, target):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def the_download(nb, outside):
    """case -> (archive name, bytes). Honest notebooks: 2021<case number><n>."""
    honest = lambda case, n: (f"20210{CASES.index(case)}{n}.ipynb", nb["sample_complete"])  # noqa: E731
    gbk = "你好".encode("gbk")  # a Windows zip's name in GBK, not marked UTF-8
    names = zip_bytes(dict([honest("names", 1), ("ABCD.ipynb", nb["sample_partial"]), ("a|b`c.ipynb", "{}")]))
    return {
        "bomb": ("bomb.zip", zip_bytes(dict([honest("bomb", 1), ("2021099.zip", bomb()), honest("bomb", 2)]))),
        "gzip": ("gzip.zip", zip_bytes(dict([honest("gzip", 1), ("2021098.ipynb.gz", gzip.compress(b"{" + bytes(8 << 20)))]))),
        "nested": ("nested.zip", zip_bytes(dict([
            honest("nested", 1),
            ("2021022.zip", zip_bytes({"2021022.ipynb": nb["sample_partial"]})),  # a student's own zip: depth 2
            ("2021097.zip", zip_bytes({"deeper.zip": zip_bytes({"deepest.zip": zip_bytes(dict([honest("nested", 9)]))})})),
        ]))),
        "escape": ("escape.zip", zip_bytes(dict([
            honest("escape", 1), (f"../../../{outside.name}-escaped.ipynb", nb["sample_partial"]),
            ("sub/../../2021096.ipynb", nb["sample_partial"]), (str(outside / "absolute.ipynb"), nb["sample_partial"]),
            honest("escape", 2)]))),
        "links": ("links.tar.gz", tar_bytes([
            (tarfile.TarInfo(honest("links", 1)[0]), nb["sample_complete"].encode()),
            link("2021095.ipynb", tarfile.SYMTYPE, "/etc/passwd"), link("2021094.ipynb", tarfile.LNKTYPE, "2021041.ipynb"),
            link("gradebook.db", tarfile.SYMTYPE, "../../../gradebook.db")])),
        "names": ("names.zip", names.replace(b"ABCD.ipynb", gbk + b".ipynb")),
        "broken": ("broken.zip", zip_bytes(dict([honest("broken", 1)]))[:-30]),  # cut short: no directory
        "crc": ("crc.zip", corrupt(zip_bytes(dict([honest("broken", 2), ("2021092.ipynb", nb["sample_partial"])])),
                                   "2021092.ipynb")),
        "names-tar": ("names2.tar.gz", tar_bytes([
            (tarfile.TarInfo(b"\xff\xfe2021093.ipynb".decode("utf-8", "surrogateescape")), nb["sample_partial"].encode()),
            (tarfile.TarInfo(honest("names", 2)[0]), nb["sample_complete"].encode())],
            encoding="utf-8", errors="surrogateescape")),
    }


def corrupt(data, name):
    """The zip with one byte of member `name`'s compressed data changed (its CRC no longer matches)."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


def blocks(folder):
    """Bytes on disk (blocks allocated) under `folder`."""
    return sum(os.lstat(os.path.join(root, n)).st_blocks * 512 for root, _, names in os.walk(folder) for n in names)


@pytest.fixture(scope="module")
def collected_class(tmp_path_factory, base_course, notebooks):
    course = tmp_path_factory.mktemp("budget") / "course"
    shutil.copytree(base_course, course, symlinks=True)
    outside = tmp_path_factory.mktemp("outside")
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    cases = the_download(notebooks, outside)
    for name, data in cases.values():
        (archive / name).write_bytes(data)
    result = nbgrader(course, "zip_collect", ASSIGNMENT, "--BudgetedExtractor.max_file_mb=5")
    log = result.stdout + result.stderr
    report = (course / "downloaded" / ASSIGNMENT / "collect_report.md").read_text(encoding="utf-8")
    extracted = course / "downloaded" / ASSIGNMENT / "extracted"
    students = sorted(collected(course))
    for case, (name, data) in cases.items():
        stem = re.sub(r"\.(zip|tar\.gz)$", "", name)
        mine = sorted({s for s in students for line in report.splitlines()
                       if f"| {s} | collected" in line and f"`{stem}/" in line})
        print(f"\n{case:9} {name:13} {len(data):>12,} bytes in the download; {blocks(extracted / stem):>10,} bytes "
              f"written on disk; students collected: {mine}")
    print(f"submitted/: {blocks(course / 'submitted'):,} bytes on disk")
    return {"course": course, "outside": outside, "log": log, "report": report, "students": students}


def test_the_class_is_collected_and_nothing_else(collected_class):
    c = collected_class
    assert c["students"] == ["2021001", "2021002", "2021011", "2021021", "2021022", "2021031", "2021032", "2021041", "2021051",
                             "2021052", "2021062"]
    assert "Traceback" not in c["log"]
    assert blocks(c["course"] / "downloaded" / ASSIGNMENT / "extracted") < 8 << 20, "more was written than the class"


def test_zip_bomb_is_not_written(collected_class):
    line = line_of(collected_class["report"], "bomb.zip:2021099.zip:zeros.ipynb")
    assert "not extracted: 1024.0 MiB unpacked, more than BudgetedExtractor.max_file_mb = 5: not written" in line
    assert "NOT EXTRACTED bomb.zip:2021099.zip:zeros.ipynb" in collected_class["log"]


def test_an_archive_without_sizes_stops_at_the_budget(collected_class):
    """A gzip says nothing of its size: 8 MiB with a budget of 5 MiB per file is cut at the budget, counted as it is
    written, and removed."""
    line = line_of(collected_class["report"], "gzip.zip:2021098.ipynb.gz")
    assert "it unpacks to more than 5.0 MiB" in line and "removed" in line
    assert not list((collected_class["course"] / "downloaded").rglob("2021098.ipynb"))


def test_zip_of_zips_stops_at_the_depth_budget(collected_class):
    line = line_of(collected_class["report"], "nested.zip:2021097.zip:deeper.zip")
    assert "deeper than ZipCollectApp's extractor allows (BudgetedExtractor.max_depth = 2)" in line
    assert "2021029" not in collected_class["students"]


def test_members_outside_the_folder_are_skipped(collected_class):
    report, outside = collected_class["report"], collected_class["outside"]
    assert "would land outside the folder (..)" in line_of(report, f"escape.zip:../../../{outside.name}-escaped.ipynb")
    assert "would land outside the folder (..)" in line_of(report, "escape.zip:sub/../../2021096.ipynb")
    assert "an absolute path" in line_of(report, f"escape.zip:{outside}/absolute.ipynb")
    assert not (outside / "absolute.ipynb").exists()
    assert not list(collected_class["course"].parent.parent.rglob(f"{outside.name}-escaped.ipynb"))


def test_links_in_a_tar_are_skipped(collected_class):
    report = collected_class["report"]
    assert "a symbolic link (to /etc/passwd)" in line_of(report, "links.tar.gz:2021095.ipynb")
    assert "a hard link (to 2021041.ipynb)" in line_of(report, "links.tar.gz:2021094.ipynb")
    assert "a symbolic link" in line_of(report, "links.tar.gz:gradebook.db")
    assert not [p for p in (collected_class["course"] / "downloaded").rglob("*") if p.is_symlink()]


def test_names_that_are_not_utf8_are_skipped(collected_class):
    report = collected_class["report"]
    assert len([line for line in report.splitlines() if "its name is not valid UTF-8" in line]) == 2, report
    rows = [line for line in report.splitlines() if line.startswith("| `")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 4 for row in rows), report  # odd names keep the table whole
    assert [row for row in rows if "a\\|b" in row and "the name cannot be read" in row], report


def test_an_archive_that_cannot_be_read_is_listed_and_the_rest_is_collected(collected_class):
    report = collected_class["report"]
    assert "not an archive that can be read" in line_of(report, "broken.zip")
    assert "cannot be unpacked" in line_of(report, "crc.zip:2021092.ipynb")
    assert "2021062" in collected_class["students"] and "2021092" not in collected_class["students"]


def test_the_budgets_are_settings_with_help():
    traits = BudgetedExtractor.class_own_traits(config=True)
    assert set(traits) == {"max_file_mb", "max_total_mb", "max_files", "max_depth"}
    assert all(len(t.help) > 30 for t in traits.values())
