"""The TA's day in a real browser: a Jupyter server on 127.0.0.1 serving a fresh course (where users put it:
conftest's place), and Debian's chromium
driven by Selenium (chromedriver from Debian too; nothing downloads a browser).

- the Formgrader's autograde button grades through the same sandbox and trust boundary as the command line,
  and writes the same gradebook rows;
- the grading page of each 思考题 shows its rubric as a short block without the mark scheme's delimiters, and a
  score and a comment typed there reach the gradebook; the release shows no rubric;
- the feedback page opens with a summary whose points are the gradebook's, each failed part's mistake linked to
  its cell and the TA's comment; its index names the test cells by what they check and lists no rubric;
- the class report shows its figures.

Screenshots go to $LAB2_SCREENSHOTS (default: a temporary folder); the test prints where.
"""
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from conftest import RELEASE_NB, SOURCE_NB, jupyter_server, make_course, nbgrader
from tools import submissions
from course import ASSIGNMENT, autograded_nb, copy_course, feedback_html, gradebook, gradebook_rows, meta
from grading.parts import part_name as part
from grading import feedback, parts

PARTS, QUESTIONS = parts.NAMES, parts.QUESTION_NAMES

pytestmark = pytest.mark.slow  # a Jupyter server and a browser

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
STUDENT = "ta_student"
TA_COMMENT = "推导清楚;请引用你自己的实验输出。"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver")


def submission(course):
    """The sample with a mistake in every part, its ReLU cell also telling whether it sees the course."""
    source_nb = nbformat.read(str(SOURCE_NB), as_version=4)
    answers = dict(submissions.samples(source_nb)["sample_mistakes"][0])
    answers["relu_impl"] += f"\n\nimport os\nprint('SEES THE COURSE:', os.path.exists({str(course / 'gradebook.db')!r}))\n"
    return submissions.fill(nbformat.read(str(RELEASE_NB), as_version=4), answers)


@pytest.fixture(scope="module")
def server(place, mnist_dir):
    """A course with one submission, served by `jupyter server` on 127.0.0.1 (the Formgrader is nbgrader's
    server extension), where users put it: made from a clone under /tmp reached through a symlink, in a path with a
    space and Chinese, and served in the TA's environment there, its venv outside the clone (conftest: place)."""
    course = copy_course(place.named / "formgrader", mnist_dir, src=place.clone)
    submissions.write_submission(course, STUDENT, submission(course))
    with jupyter_server(course, place.env, "server") as (base, token):
        yield course, base, token


@pytest.fixture(scope="module")
def browser():
    assert CHROMEDRIVER, "chromium-driver is not installed (tools/test.sh installs chromium and chromium-driver as root)"
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download a browser or a driver
    from selenium import webdriver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1100"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("LAB2_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def wait_for(predicate, seconds=300, what="the page"):
    from selenium.common.exceptions import StaleElementReferenceException
    end = time.time() + seconds
    while time.time() < end:
        try:
            value = predicate()
        except StaleElementReferenceException:  # the page redrew what the predicate was reading: look again
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def show(browser, element, top=150):
    """Scroll `element` to `top` pixels below the window's top, again while the page's layout still moves it
    (MathJax typesets the formulas above it after the page has loaded)."""
    for _ in range(20):
        browser.execute_script("arguments[0].scrollIntoView(); window.scrollBy(0, -arguments[1]);", element, top)
        time.sleep(0.5)
        if abs(browser.execute_script("return arguments[0].getBoundingClientRect().top", element) - top) < 2:
            return


@pytest.fixture(scope="module")
def autograded_from_the_page(server, browser, shots):
    """Click the Formgrader's autograde button for the student and wait for its report."""
    from selenium.webdriver.common.by import By
    course, base, token = server
    browser.get(f"{base}/tree?token={token}")  # the link Jupyter prints: it logs the browser in
    wait_for(lambda: browser.get_cookies(), 30, "the login cookie")
    browser.get(f"{base}/formgrader/manage_submissions/{ASSIGNMENT}")
    row = wait_for(lambda: [r for r in browser.find_elements(By.CSS_SELECTOR, "tr") if STUDENT in r.text],
                   60, "the student's row")[0]
    row.find_element(By.CSS_SELECTOR, ".autograde a").click()
    modal = wait_for(lambda: [m for m in browser.find_elements(By.CSS_SELECTOR, ".modal") if m.is_displayed()],
                     600, "autograde to finish")[0]
    browser.save_screenshot(str(shots / "formgrader_autograde.png"))
    return modal.text


def test_formgrader_autograde_is_sandboxed_and_writes_the_rows_of_the_command_line(
        server, autograded_from_the_page, tmp_path, mnist_dir):
    course = server[0]
    assert "Successfully autograded" in autograded_from_the_page, autograded_from_the_page
    graded = nbformat.read(str(autograded_nb(course, STUDENT)), as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells for o in c.get("outputs", []))
    assert "SEES THE COURSE: False" in printed, "the Formgrader's kernel saw the course: it was not sandboxed"
    assert graded.metadata["lab2_grading"]["decided_outside_the_kernel"]
    cli = make_course(tmp_path, mnist_dir)
    submissions.write_submission(cli, STUDENT, submission(cli))
    nbgrader(cli, "autograde", ASSIGNMENT, "--student", STUDENT)
    assert gradebook_rows(course) == gradebook_rows(cli)


@pytest.fixture(scope="module")
def graded_by_the_ta(server, browser, autograded_from_the_page, shots):
    """On the grading page: check the rubrics, type a score and a comment for 思考题1 as a TA does, wait until both
    reach the gradebook; return the page's text and its rubric blocks' text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    course, base, token = server
    with gradebook(course) as gb:
        notebook_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).id
    browser.get(f"{base}/formgrader/submissions/{notebook_id}/")
    wait_for(lambda: browser.find_elements(By.ID, "q1_answer"), 60, "the grading page")
    text = browser.find_element(By.TAG_NAME, "body").text
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h1, h2, h3, h4, h5, h6")]
    rubrics = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".rendered_html blockquote")]
    score = browser.find_element(By.ID, "q1_answer")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", score)
    score.clear()
    score.send_keys("5", Keys.TAB)
    comment = browser.find_element(By.ID, "q1_answer-comment")
    comment.clear()
    comment.send_keys(TA_COMMENT, Keys.TAB)

    def saved():
        with gradebook(course) as gb:
            grade = gb.find_grade("q1_answer", ASSIGNMENT, ASSIGNMENT, STUDENT)
            return grade.manual_score == 5 and gb.find_comment("q1_answer", ASSIGNMENT, ASSIGNMENT, STUDENT).comment
    wait_for(saved, 30, "the score and the comment to reach the gradebook")
    rubric = browser.find_elements(By.CSS_SELECTOR, ".rendered_html blockquote")[0]  # 思考题1's, above its answer
    browser.execute_script("document.activeElement.blur();")
    show(browser, rubric)
    browser.save_screenshot(str(shots / "formgrader_rubric_q1.png"))
    return text, headings, rubrics


def test_grading_page_shows_each_rubric_and_takes_a_score(graded_by_the_ta):
    """Each rubric is a short quoted block ("评分要点") above its answer; the mark scheme's delimiters are not shown."""
    text, headings, rubrics = graded_by_the_ta
    assert len(rubrics) == 5 and all(r.startswith("评分要点") for r in rubrics), rubrics
    assert text.count("评分要点") == 5, "a 思考题 has no rubric on the grading page"
    for q in range(1, 6):
        assert f"思考题{q}" in text
    assert "MARK SCHEME" not in text, "the grading page shows the mark scheme's delimiters"
    assert not [h for h in headings if "MARK SCHEME" in h or "评分要点" in h], headings


def test_release_shows_no_rubric(server, browser):
    from selenium.webdriver.common.by import By
    course = server[0]
    from nbconvert import HTMLExporter
    page = course / "release.html"  # the release as a page, rendered by nbconvert
    page.write_text(HTMLExporter().from_filename(str(course / "release" / ASSIGNMENT / NOTEBOOK))[0], encoding="utf-8")
    browser.get(page.as_uri())
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "思考题1" in text and "评分要点" not in text


def test_feedback_opens_with_the_gradebooks_points_and_shows_no_rubric(server, browser, graded_by_the_ta, shots):
    """The student's feedback page: a summary with one row per part whose points are the gradebook's, each failed
    part's mistake linked to its cell, the TA's comment on 思考题1; an index that names the test cells by what they
    check and lists no rubric; no rubric anywhere."""
    from selenium.webdriver.common.by import By
    course = server[0]
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    browser.get(feedback_html(course, STUDENT).as_uri())
    browser.save_screenshot(str(shots / "feedback.png"))
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "思考题1" in text and "评分要点" not in text and "MARK SCHEME" not in text
    assert "history saving thread" not in text

    with gradebook(course) as gb:
        grades = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).grades
        book = {p: (sum(g.score for g in grades if part(g.name) == p), sum(g.max_score for g in grades if part(g.name) == p),
                    any(g.needs_manual_grade for g in grades if part(g.name) == p)) for p in PARTS + QUESTIONS}
    graded = nbformat.read(str(autograded_nb(course, STUDENT)), as_version=4)
    messages = {meta(c)["grade_id"]: c.metadata["lab2"]["message"] for c in graded.cells if "lab2" in c.metadata
                and c.metadata["lab2"].get("verdict") == "fail"}
    rows = browser.find_elements(By.CSS_SELECTOR, "#summary tbody tr")
    assert [r.get_attribute("data-part") for r in rows] == list(PARTS + QUESTIONS)
    for row in rows:
        p = row.get_attribute("data-part")
        score, max_score, pending = book[p]
        points = row.find_element(By.CSS_SELECTOR, "td.points").text
        assert points == f"{'待评分' if pending else f'{score:g}'} / {max_score:g}", (p, points, book[p])
        failed = [gid for gid in messages if part(gid) == p]
        what = row.find_elements(By.TAG_NAME, "td")[2]
        if failed:  # the first failing test, linked to its cell, with the start of the grader's message
            link = what.find_element(By.TAG_NAME, "a")
            assert link.get_attribute("href").endswith(f"#{failed[0]}") and browser.find_elements(By.NAME, failed[0])
            assert messages[failed[0]][:12] in what.text, (p, what.text, messages[failed[0]])
        else:
            assert score == max_score or p in QUESTIONS, (p, what.text)
    q1 = rows[len(PARTS)]
    assert q1.find_element(By.CSS_SELECTOR, "td.points").text == "5 / 7" and TA_COMMENT in q1.text

    toc = browser.find_element(By.ID, "toc").text
    for label in ("Test cell", "Task", "评分要点", "rubric"):
        assert label not in toc, f"the index shows {label!r}: {toc}"
    for gid in messages:
        assert feedback.NAMES[gid] in toc, (gid, toc)
    links = [a.get_attribute("href").rsplit("#", 1)[1] for a in browser.find_elements(By.CSS_SELECTOR, "#toc a")]
    assert not [gid for gid in links if gid.endswith("_rubric")] and all(browser.find_elements(By.NAME, g) for g in links)
    browser.set_window_size(1400, 2000)
    browser.save_screenshot(str(shots / "feedback_summary.png"))
    browser.set_window_size(1400, 1100)


def test_class_report_shows_its_figures(server, browser, autograded_from_the_page, shots):
    from tools import class_report
    from selenium.webdriver.common.by import By
    course = server[0]
    page, mistakes, _ = class_report.write(course)
    assert mistakes["relu_derivative_at_zero"] == 1 and mistakes["l2_missing_half"] == 1, mistakes
    browser.get(page.as_uri())
    images = browser.find_elements(By.TAG_NAME, "img")
    widths = [browser.execute_script("return arguments[0].naturalWidth", img) for img in images]
    assert len(images) >= 3 and all(w > 100 for w in widths), widths
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "relu_derivative_at_zero" in text and STUDENT in text
    browser.set_window_size(1400, 2600)
    browser.save_screenshot(str(shots / "class_report.png"))
    rows = (course / "class_report.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("student,relu") and any(r.startswith(STUDENT + ",4,4,4,0,0,4,16,5") for r in rows), rows


REVIEWED = "review_student"


@pytest.fixture(scope="module")
def held_for_review(server):
    """A submission whose MyTanh is correct but written as exec of decoded text: the grader cannot read it, so every
    test after that cell is held at 0 for a TA's review. Autograded on the command line in the served course."""
    import base64
    course = server[0]
    source_nb = nbformat.read(str(SOURCE_NB), as_version=4)
    answers = dict(submissions.solutions(source_nb))
    hidden = base64.b64encode(answers["tanh_impl"].encode()).decode()
    answers["tanh_impl"] = f"import base64\nexec(base64.b64decode('{hidden}').decode())  # 正确的 MyTanh,只是藏了起来\n"
    submissions.write_submission(course, REVIEWED, submissions.fill(nbformat.read(str(RELEASE_NB), as_version=4),
                                                                    answers))
    nbgrader(course, "autograde", ASSIGNMENT, "--student", REVIEWED)
    graded = nbformat.read(str(autograded_nb(course, REVIEWED)), as_version=4)
    return {meta(c)["grade_id"]: c.metadata["lab2"] for c in graded.cells if "lab2" in c.metadata and meta(c)}


def test_a_ta_gives_the_points_held_for_review_back_in_the_formgrader(server, browser, held_for_review, shots):
    """Code the grader cannot read goes to a person: the tests after it are held at 0 with a "needs review" verdict
    (the data alone passed them), the integrity and class reports list the submission first, and a TA who read the
    code gives the points back on the Formgrader's grading page (nbgrader's manual score of an autograded cell)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from tools import class_report, integrity_report
    course, base, token = server
    held = sorted(gid for gid, v in held_for_review.items() if v.get("mistake") == "needs_review")
    assert held and all(part(g) not in ("relu", "sigmoid") for g in held), held  # only the tests after the cell
    assert all(held_for_review[g]["data_mistake"] == "" for g in held), "the data alone should pass them"
    assert "助教" in held_for_review[held[0]]["message"]
    assert list(integrity_report.in_order(integrity_report.report(course)))[0] == REVIEWED
    page, _, _ = class_report.write(course)
    assert page.read_text(encoding="utf-8").index(REVIEWED) < page.read_text(encoding="utf-8").index(STUDENT)

    with gradebook(course) as gb:
        notebook_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, REVIEWED).id
        before = {g.name: g.score for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, REVIEWED).grades}
    assert all(before[g] == 0 for g in held)
    browser.get(f"{base}/tree?token={token}")
    wait_for(lambda: browser.get_cookies(), 30, "the login cookie")
    browser.get(f"{base}/formgrader/submissions/{notebook_id}/")
    wait_for(lambda: browser.find_elements(By.ID, held[0]), 60, "the grading page")
    assert "助教复核" in browser.find_element(By.TAG_NAME, "body").text  # the verdict the TA reads above the score
    points = dict(parts.AUTOGRADED)
    for gid in held:  # the TA read the code: it is honest, every held test gets its points back
        box = browser.find_element(By.ID, gid)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
        box.clear()
        box.send_keys(f"{points[gid]:g}", Keys.TAB)
    show(browser, browser.find_element(By.ID, held[0]), top=300)
    browser.save_screenshot(str(shots / "formgrader_review.png"))

    def given_back():
        with gradebook(course) as gb:
            grades = {g.name: g for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, REVIEWED).grades}
            return all(grades[g].manual_score == points[g] and grades[g].score == points[g] for g in held)
    wait_for(given_back, 60, "the points to reach the gradebook")
    with gradebook(course) as gb:
        total = sum(g.score for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, REVIEWED).grades
                    if not parts.is_manual(g.name))
    assert total == sum(points.values())
