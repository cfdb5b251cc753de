"""The similarity report (tools/similarity.py) on a class made for it (tests/similarity_class.py): 200 students whose
parts come from the corpus's correct forms, and 18 planted pairs (two sets of seven disguises: variables renamed and
comments changed, functions reordered, answers reworded and reordered, one part copied, answers only, the whole file,
a trio). Every planted pair must rank above every honest pair, and at most one honest pair per 100 students may be
flagged. Nothing is graded and no kernel runs: the report reads the notebooks as JSON.

The browser test (slow) opens the page of a class with a submission that carries script payloads (tests/xss_corpus.py)
and its copy in Debian's chromium: no payload runs; screenshots go to $LAB2_SCREENSHOTS.
"""
import csv
import html.parser
import json
import shutil
import subprocess
import sys
import time
from collections import Counter

import nbformat
import pytest

import corpus
import similarity_class
import xss_corpus
from conftest import RELEASE_NB, SOURCE_NB
from course import ROOT, copy_course, read, release_nb
from test_formgrader import browser, shots  # noqa: F401  (fixtures)
from tools import similarity, similarity_evidence, similarity_page, submissions

STUDENTS, SEED = 200, 0


def course_folder(tmp_path):
    """A folder with what the report reads: the release and submitted/."""
    dest = release_nb(tmp_path)
    dest.parent.mkdir(parents=True)
    shutil.copyfile(RELEASE_NB, dest)
    return tmp_path


def made_class(folder, n, seed=SEED, plant_every=100):
    source = read(SOURCE_NB)
    notebooks, planted = similarity_class.make_class(similarity_class.release_json(), source, corpus.corpus(source), n,
                                                     seed=seed, plant_every=plant_every)
    similarity_class.write_class(folder, notebooks)
    return notebooks, planted


@pytest.fixture(scope="module")
def the_class(tmp_path_factory):
    folder = course_folder(tmp_path_factory.mktemp("similarity"))
    notebooks, planted = made_class(folder, STUDENTS)
    start = time.perf_counter()
    result = similarity.write(folder)
    print(f"\nsimilarity report of {STUDENTS} students: {time.perf_counter() - start:.1f} s, "
          f"{result.candidates} candidate pairs")
    return folder, notebooks, planted, result


def is_planted(pair, planted):
    return frozenset((pair.a, pair.b)) in planted


def test_every_planted_pair_ranks_above_every_honest_pair(the_class):
    folder, _, planted, result = the_class
    found = [p for p in result.pairs if is_planted(p, planted)]
    honest = [p for p in result.pairs if not is_planted(p, planted)]
    flagged = [p for p in result.flagged if is_planted(p, planted)]
    rows = [f"{'disguise':14} planted  flagged  lowest score"]
    for disguise in similarity_class.PLANTED:
        scores = [p.score for p in found if planted[frozenset((p.a, p.b))] == disguise]
        rows.append(f"{disguise:14} {sum(v == disguise for v in planted.values()):7d}  "
                    f"{sum(s >= result.settings.threshold for s in scores):7d}  {min(scores, default=0):.3f}")
    honest_flagged = len(result.flagged) - len(flagged)
    rows.append(f"planted pairs found {len(flagged)} of {len(planted)}; honest pairs flagged {honest_flagged} of "
                f"{STUDENTS * (STUDENTS - 1) // 2 - len(planted)}; precision {len(flagged) / max(len(result.flagged), 1):.2f}, "
                f"recall {len(flagged) / len(planted):.2f}; best honest score {honest[0].score:.3f}, lowest planted "
                f"{min(p.score for p in found):.3f} (threshold {result.settings.threshold:g})")
    print("\n" + "\n".join(rows))
    assert len(found) == len(planted), "a planted pair was never scored"
    assert min(p.score for p in found) > honest[0].score, (honest[0], min(found, key=lambda p: p.score))


def test_few_honest_pairs_are_flagged_and_every_disguise_is(the_class):
    _, _, planted, result = the_class
    honest = [p for p in result.flagged if not is_planted(p, planted)]
    assert len(honest) <= STUDENTS // 100, honest
    flagged = Counter(planted[frozenset((p.a, p.b))] for p in result.flagged if is_planted(p, planted))
    assert flagged == Counter(planted.values()), flagged


def test_the_trio_is_one_group(the_class):
    _, _, planted, result = the_class
    trios = [{s for pair, d in planted.items() if d == "trio" for s in pair if s in group} for group in result.groups]
    assert sum(len(t) == 3 for t in trios) == 2, result.groups  # one trio per 100 students
    assert all(len(g) <= 4 for g in result.groups), result.groups


def test_the_evidence_names_what_was_copied(the_class):
    """The answers-only copy is found in the answers and nowhere else; the one-part copy in that part; the whole file
    in every kind, its traces included."""
    _, _, planted, result = the_class
    by = {planted[frozenset((p.a, p.b))]: p for p in result.flagged if is_planted(p, planted)}
    answers_only, one_part, whole = by["answers_only"], by["one_part"], by["whole_file"]
    assert answers_only.answers > 0.9 and answers_only.code < 0.3 and answers_only.traces < 0.3, answers_only
    assert len([q for q, c in answers_only.questions if c > 0.9]) == 5
    assert one_part.code >= result.settings.threshold and one_part.answers < 0.3 and one_part.parts, one_part
    assert whole.traces > 0.9 and whole.answers > 0.9 and whole.code > 0.5, whole
    kinds = {what.split(" ")[0] for what, _ in whole.shared_traces}
    assert {"不在发布版中的单元", "同样的输出", "同一张图"} <= kinds, kinds


def test_the_csv_has_one_row_per_flagged_pair(the_class):
    folder, _, _, result = the_class
    with open(folder / "similarity.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == similarity.CSV_COLUMNS
    assert [(r["student_a"], r["student_b"]) for r in rows] == [(p.a, p.b) for p in result.flagged]
    assert all(0 <= float(r[k]) <= 1 for r in rows for k in ("score", "code", "answers", "traces"))
    assert [(a, b) for a, b, _, _ in similarity.flagged_pairs(folder)] == [(p.a, p.b) for p in result.flagged]


def test_what_many_share_and_the_release_count_for_nothing(tmp_path):
    """Untouched releases share nothing of their own; a helper that 12 students (more than max_share) paste into their
    ReLU cell gives no pair of them a shared feature and flags none of them, though each shares it with 11 others."""
    folder = course_folder(tmp_path)
    notebooks, _ = made_class(folder, 30, plant_every=1000)
    similarity_class.write_class(folder, {f"untouched{k}": similarity_class.release_json() for k in range(3)})
    settings = similarity.Similarity()

    def compared():
        release, subs = similarity.read_class(folder, settings)
        return {s.student: s for s in subs}, similarity.compare(subs, release, settings)
    _, before = compared()
    assert not [p for p in before.pairs if "untouched" in p.a + p.b], "the release counted as evidence"
    helper = ("\n\n\ndef zhouqi_check_all(values, eps=1e-7):\n    seen = values.detach().clone()\n"
              "    assert seen.dim() >= 1, 'zhouqi says no'\n    return bool(((seen - seen.clamp(min=0)) ** 2).sum() < eps)\n")
    pasted = sorted(notebooks)[:12]
    for student in pasted:
        nb = notebooks[student]
        cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "relu_impl")
        cell["source"] = "".join(cell["source"]) + helper
        similarity_class.write_class(folder, {student: nb})
    subs, after = compared()
    held = set.intersection(*(subs[s].code_features("relu") for s in pasted))  # what all twelve hold: the helper's
    assert ("name", "zhouqi_check_all") in held and len(held) > 5
    shared = {f for p in after.pairs for _, _, _, features in p.units for f in features}
    assert not held & shared, "a feature 12 students share counted for a pair"
    assert {(p.a, p.b) for p in after.flagged} == {(p.a, p.b) for p in before.flagged}


def test_an_unreadable_submission_is_listed_and_the_rest_compared(tmp_path):
    folder = course_folder(tmp_path)
    made_class(folder, 20, plant_every=20)
    broken = folder / "submitted" / "broken" / "lab2_regularization" / "lab2_regularization.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [', encoding="utf-8")
    result = similarity.write(folder)
    assert list(result.unreadable) == ["broken"] and "JSONDecodeError" in result.unreadable["broken"]
    assert len(result.students) == 20 and result.flagged
    assert "没有比较的作业 Not compared" in (folder / "similarity_report.html").read_text(encoding="utf-8")


def test_the_threshold_is_a_setting(tmp_path, monkeypatch, capsys):
    folder = course_folder(tmp_path)
    made_class(folder, 20, plant_every=20)
    similarity.main(["--course", str(folder)])
    default = len(similarity.flagged_pairs(folder))
    similarity.main(["--course", str(folder), "--threshold", "0.999"])
    assert len(similarity.flagged_pairs(folder)) < default
    similarity.main(["--course", str(folder), "--Similarity.threshold=0.05"])
    assert len(similarity.flagged_pairs(folder)) > default
    monkeypatch.setenv("LAB2_SIMILARITY_THRESHOLD", "0.999")
    similarity.main(["--course", str(folder)])
    assert len(similarity.flagged_pairs(folder)) < default
    assert "a reason to look, not a verdict" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        similarity.main(["--course", str(tmp_path / "nowhere")])


# ---------------------------------------------------------------- what a student wrote, on the page
PAYLOAD_STUDENT = f"x<img src=x onerror=\"{xss_corpus.js('student-id')}\">"


def xss_pair(folder):
    """A submission carrying every payload of tests/xss_corpus.py, payloads in an output line, an error message and
    its folder name too, and its copy: a flagged pair, shown side by side."""
    nb = xss_corpus.submission(nbformat.read(str(RELEASE_NB), as_version=4),
                               submissions.solutions(nbformat.read(str(SOURCE_NB), as_version=4)))
    nb = json.loads(nbformat.writes(nb))
    nb["cells"].append({"cell_type": "code", "id": "f00dfeed", "metadata": {}, "execution_count": 7, "source": (
        f"print('<script>{xss_corpus.js('trace-output')}</script>', 0.123456, 7.654321)"), "outputs": [
        {"output_type": "stream", "name": "stdout",
         "text": f"<script>{xss_corpus.js('trace-output')}</script> 0.123456 7.654321\n"},
        {"output_type": "error", "ename": "ValueError", "evalue": f"<img src=x onerror=\"{xss_corpus.js('trace-error')}\">",
         "traceback": []}]})
    for student in (PAYLOAD_STUDENT, "copy_of_it"):
        similarity_class.write_class(folder, {student: nb})


def test_the_marks_cover_the_copied_tokens_not_the_comments_between():
    settings = similarity.Similarity()
    source = "def f(x):  # mine\n    return x.clamp(min=0) * 2\n"
    release = similarity_evidence.read_release(RELEASE_NB, settings)
    unit = similarity_evidence.code_unit("p", source, similarity_evidence.bound_names(source), release, settings)
    unit.prints = {"h": [0]}  # one fingerprint over the first k tokens
    spans = similarity_page.code_spans(unit, ["h"], settings.k)
    marked_text = [source[a:b] for a, b in spans]
    assert marked_text[0] == "def f(x):" and not any("mine" in t for t in marked_text), marked_text
    covered = sum(b - a for a, b in spans)
    last = unit.tokens[min(settings.k, len(unit.tokens)) - 1][2]
    assert covered < last  # the comment between the tokens is left unmarked

class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = Counter(), []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attrs += [(tag, k, v or "") for k, v in attrs]


def test_the_page_escapes_what_students_wrote(tmp_path):
    folder = course_folder(tmp_path)
    made_class(folder, 20, plant_every=1000)
    xss_pair(folder)
    result = similarity.write(folder)
    assert {(p.a, p.b) for p in result.flagged} >= {("copy_of_it", PAYLOAD_STUDENT)}
    page = (folder / "similarity_report.html").read_text(encoding="utf-8")
    parsed = Tags()
    parsed.feed(page)
    assert not {"script", "iframe", "svg", "math", "object", "embed", "form", "input"} & set(parsed.tags), parsed.tags
    assert not [a for a in parsed.attrs if a[1].startswith("on") or "javascript:" in a[2].lower()], parsed.attrs
    assert [a for a in parsed.attrs if a[:2] == ("meta", "http-equiv")], "no Content-Security-Policy"
    assert "&lt;script&gt;" in page and "top.name" in page  # the payloads are there, as text
    assert similarity_page.VERDICT in page


@pytest.mark.slow  # a browser
def test_no_payload_runs_in_the_browser_and_the_page_reads_in_chinese(tmp_path, browser, shots):  # noqa: F811
    """The real command on a class of 40 with the payload pair, the page opened in Debian's chromium: no payload ran
    (each would write its id into window.name), the verdict sentence and the marked passages are on the page, and the
    class report lists the flagged pairs among the submissions to look at. Screenshots: the page's top, a pair."""
    from selenium.webdriver.common.by import By

    from tools import class_report
    folder = copy_course(tmp_path / "course")
    made_class(folder, 40, plant_every=40)
    xss_pair(folder)
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "similarity.py"), "--course", str(folder)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    page = folder / "similarity_report.html"
    browser.get("about:blank")
    browser.execute_script("window.name = '';")
    browser.get(page.as_uri())
    time.sleep(2)
    assert (browser.execute_script("return window.name;") or "") == "", "a payload ran on the similarity page"
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "相似只是值得查看的理由,不是结论" in text and "copy_of_it" in text and PAYLOAD_STUDENT in text
    marks = browser.find_elements(By.TAG_NAME, "mark")
    assert len(marks) > 10 and any(m.is_displayed() for m in marks)
    browser.set_window_size(1400, 1100)
    browser.save_screenshot(str(shots / "similarity_report.png"))
    side = browser.find_element(By.CSS_SELECTOR, ".pair .side")
    browser.execute_script("arguments[0].scrollIntoView(); window.scrollBy(0, -120);", side)
    browser.save_screenshot(str(shots / "similarity_pair.png"))
    report, _, _ = class_report.write(folder)
    shown = report.read_text(encoding="utf-8")
    assert "similar to a classmate" in shown and "similarity_report.html#pair-1" in shown
    assert shown.count("similar to a classmate") == len(similarity.flagged_pairs(folder))
