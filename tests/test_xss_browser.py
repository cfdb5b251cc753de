"""A submission is untrusted in the TA's browser: headless Chromium opens the Formgrader's grading page and the
feedback page of a submission carrying every payload of tests/xss_corpus.py, and no payload runs. The same
submission in the same course, with the sanitizing turned off by config (plain nbgrader: no sanitizer, no
Content-Security-Policy), shows that the check can fail: there the payloads run.

The submission is autograded once (the real CLI, in the sandbox); the plain course is a copy of the graded course
whose nbgrader_config.py ends with PLAIN_NBGRADER. Each page is loaded, left 2 s for handlers to fire, then every
javascript: link on it is clicked; a payload that ran left its id in window.name. The honest answer (math, table,
image, code block) must render: a screenshot of it goes to $LAB2_SCREENSHOTS (default: a temporary folder).
"""
import shutil
import time
import urllib.request

import nbformat
import pytest

import xss_corpus
from conftest import RELEASE_NB, SOURCE_NB, jupyter_server, make_course, nbgrader
from test_formgrader import browser, shots, wait_for  # noqa: F401  (fixtures)
from tools import submissions
from course import ASSIGNMENT, feedback_html, gradebook

pytestmark = pytest.mark.slow  # autograde, two Jupyter servers, a browser

STUDENT = "xss_student"
PLAIN_NBGRADER = """
# ---- the test's plain nbgrader: no sanitizer, no Content-Security-Policy (tests/test_xss_browser.py)
c.HTMLExporter.preprocessors = []
c.HTMLExporter.sanitize_html = False
c.HTMLExporter.filters = {}
c.FeedbackExporter.content_security_policy = ""
"""
CLICK_JAVASCRIPT_LINKS = """
const links = [...document.querySelectorAll('a, area, [href], [*|href]')].filter(
    el => /^\\s*javascript:/i.test(el.getAttribute('href') || el.getAttributeNS('http://www.w3.org/1999/xlink', 'href') || ''));
links.forEach(el => el.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true})));
return links.length;
"""


@pytest.fixture(scope="module")
def courses(tmp_path_factory, mnist_dir):
    """The graded course (sanitizing on) and its copy with plain nbgrader's rendering; feedback in both."""
    on = make_course(tmp_path_factory.mktemp("xss") / "sanitized", mnist_dir)
    source = nbformat.read(str(SOURCE_NB), as_version=4)
    nb = xss_corpus.submission(nbformat.read(str(RELEASE_NB), as_version=4), submissions.solutions(source))
    submissions.write_submission(on, STUDENT, nb)
    nbgrader(on, "autograde", ASSIGNMENT, "--student", STUDENT)
    off = on.parent / "plain"
    shutil.copytree(on, off, symlinks=True)
    with open(off / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(PLAIN_NBGRADER)
    for course in (on, off):
        nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    with gradebook(on) as gb:
        notebook_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).id
    return {"sanitized": on, "plain": off}, notebook_id


def ran(browser, url, shot=None):  # noqa: F811
    """The ids of the payloads that ran on the page at `url`, and how many javascript: links it had; `shot`: a
    screenshot of the payloads' cells as the page shows them."""
    browser.get("about:blank")
    browser.execute_script("window.name = '';")
    browser.get(url)
    time.sleep(2)  # ontoggle, onfocus, onbegin, onerror fire after the load
    if shot:
        browser.execute_script("const cell = [...document.querySelectorAll('.rendered_html')].find("
                               "e => e.textContent.includes('payload script-plain')); if (cell) cell.scrollIntoView();")
        browser.save_screenshot(str(shot))
    links = browser.execute_script(CLICK_JAVASCRIPT_LINKS)
    time.sleep(0.5)
    name = browser.execute_script("return window.name;") or ""
    return {pid for pid in name.split("|") if pid}, links


@pytest.fixture(scope="module")
def results(courses, browser, shots):  # noqa: F811
    """For each course: {page: (payload ids that ran, javascript: links)} for the grading page and the feedback."""
    folders, notebook_id = courses
    out = {}
    for kind, course in folders.items():
        with jupyter_server(course, None, f"xss_{kind}") as (base, token):
            browser.get(f"{base}/tree?token={token}")
            wait_for(lambda: browser.get_cookies(), 30, "the login cookie")
            if kind == "sanitized":  # what nbgrader's own page allows (README, TAs): Jupyter Server's default policy
                request = urllib.request.Request(f"{base}/formgrader/submissions/{notebook_id}/",
                                                 headers={"Authorization": f"token {token}"})
                print("\nthe grading page's Content-Security-Policy:",
                      urllib.request.urlopen(request, timeout=60).headers.get("Content-Security-Policy"))
            out[kind] = {"grading page": ran(browser, f"{base}/formgrader/submissions/{notebook_id}/",
                                             shots / f"xss_grading_page_{kind}.png"),
                         "feedback": ran(browser, feedback_html(course, STUDENT).as_uri())}
    table = [f"{'family':10} {'page':13} {'plain nbgrader: ran':22} sanitized: ran"]
    for family, pids in xss_corpus.families().items():
        for page in ("grading page", "feedback"):
            table.append(f"{family:10} {page:13} {len(set(pids) & out['plain'][page][0]):>3} of {len(pids):<14} "
                         f"{len(set(pids) & out['sanitized'][page][0]):>3} of {len(pids)}")
    print("\n" + "\n".join(table))
    for kind in out:
        for page, (got, links) in out[kind].items():
            print(f"{kind}, {page}: {links} javascript: links; ran: {sorted(got)}")
    return out


def test_no_payload_runs_on_the_grading_page_or_the_feedback(results):
    for page, (got, links) in results["sanitized"].items():
        assert not got, f"payloads ran on the {page}: {sorted(got)}"
        assert links == 0, f"the {page} still has {links} javascript: links"


# where plain nbgrader is open, by family: the check fails there. Closed on main too: outputs (reduced to text and
# images by autograde, grading/student_runs.py), raw cells (nbconvert's templates bleach them), the notebook's
# metadata (nbconvert escapes the title and the widgets' state; autograde drops the rest); math is TeX text for
# MathJax, but a script between \( and \) is markdown's raw HTML and runs.
OPEN_ON_MAIN = ("script", "handler", "svg", "iframe", "mxss", "jsurl", "math")


def test_the_same_check_fails_on_plain_nbgrader(results):
    families = xss_corpus.families()
    for page, (got, links) in results["plain"].items():
        for family in OPEN_ON_MAIN:
            assert set(families[family]) & got, f"no {family} payload ran on plain nbgrader's {page}: {sorted(got)}"


def test_an_honest_answer_still_renders(courses, results, browser, shots):  # noqa: F811
    """思考题1's answer: its table, its image (a real PNG, drawn), its code block and its math (as TeX for MathJax,
    or typeset where MathJax's CDN is reachable) are on the feedback page; screenshot."""
    from selenium.webdriver.common.by import By
    folders, _ = courses
    browser.get(feedback_html(folders["sanitized"], STUDENT).as_uri())
    tables = [t for t in browser.find_elements(By.CSS_SELECTOR, ".rendered_html table") if "第一层梯度" in t.text]
    assert tables and "Sigmoid" in tables[0].text, "the answer's table is not on the page"
    images = [i for i in browser.find_elements(By.CSS_SELECTOR, ".rendered_html img") if i.get_attribute("alt") == "梯度"]
    assert images and browser.execute_script("return arguments[0].naturalWidth", images[0]) > 50, "no image"
    assert [p for p in browser.find_elements(By.CSS_SELECTOR, ".rendered_html pre") if "sigmoid_grad" in p.text]
    answer = tables[0].find_element(By.XPATH, "./ancestor::div[contains(@class, 'rendered_html')][1]")
    math = browser.execute_script("return arguments[0].textContent", answer)
    assert "\\frac{\\partial L}" in math or answer.find_elements(By.CSS_SELECTOR, ".MathJax, mjx-container"), \
        math[max(0, math.find("导数") - 40):][:300]
    browser.execute_script("arguments[0].scrollIntoView(); window.scrollBy(0, -160);", answer)
    browser.save_screenshot(str(shots / "xss_honest_answer.png"))
