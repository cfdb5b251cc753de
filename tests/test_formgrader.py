"""The TA's day in a real browser: a Jupyter server on 127.0.0.1 serving a fresh course, and Debian's chromium
driven by Selenium (chromedriver from Debian too; nothing downloads a browser).

- the Formgrader's autograde button grades through the same sandbox and trust boundary as the command line,
  and writes the same gradebook rows;
- the grading page of each 思考题 shows its rubric, and a score typed there reaches the gradebook; the
  release and the feedback page show no rubric;
- the class report shows its figures.

Screenshots go to $LAB2_SCREENSHOTS (default: a temporary folder); the test prints where.
"""
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import RELEASE_NB, SOURCE_NB, make_course, nbgrader
from tools import submissions
from course import ASSIGNMENT, autograded_nb, feedback_html, gradebook, gradebook_rows

pytestmark = pytest.mark.slow  # a Jupyter server and a browser

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
STUDENT = "ta_student"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver")


def submission(course):
    """The sample with a mistake in every part, its ReLU cell also telling whether it sees the course."""
    source_nb = nbformat.read(str(SOURCE_NB), as_version=4)
    answers = dict(submissions.samples(source_nb)["sample_mistakes"][0])
    answers["relu_impl"] += f"\n\nimport os\nprint('SEES THE COURSE:', os.path.exists({str(course / 'gradebook.db')!r}))\n"
    return submissions.fill(nbformat.read(str(RELEASE_NB), as_version=4), answers)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, mnist_dir):
    """A course with one submission, served by `jupyter server` on 127.0.0.1 (the Formgrader is nbgrader's
    server extension)."""
    course = make_course(tmp_path_factory.mktemp("formgrader"), mnist_dir)
    submissions.write_submission(course, STUDENT, submission(course))
    port, token = free_port(), secrets.token_hex(16)
    log = open(course / "jupyter_server.log", "w")
    proc = subprocess.Popen(["jupyter", "server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={course}"], cwd=course, stdout=log, stderr=subprocess.STDOUT,
                            env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("jupyter server did not start:\n" + (course / "jupyter_server.log").read_text())
    yield course, base, token
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    assert CHROMEDRIVER, "chromium-driver is not installed (.ci/run installs chromium and chromium-driver)"
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
    end = time.time() + seconds
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


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


def test_grading_page_shows_each_rubric_and_takes_a_score(server, browser, autograded_from_the_page, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    course, base, token = server
    with gradebook(course) as gb:
        notebook_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).id
    browser.get(f"{base}/formgrader/submissions/{notebook_id}/")
    wait_for(lambda: browser.find_elements(By.ID, "q1_answer"), 60, "the grading page")
    text = browser.find_element(By.TAG_NAME, "body").text
    assert text.count("评分要点") == 5, "a 思考题 has no rubric on the grading page"
    for q in range(1, 6):
        assert f"思考题{q}" in text
    score = browser.find_element(By.ID, "q1_answer")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", score)
    score.clear()
    score.send_keys("5", Keys.TAB)
    browser.save_screenshot(str(shots / "formgrader_rubric_q1.png"))

    def saved():
        with gradebook(course) as gb:
            grades = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).grades
            return next(g.manual_score for g in grades if g.name == "q1_answer") == 5
    wait_for(saved, 30, "the score to reach the gradebook")


def test_release_and_feedback_show_no_rubric(server, browser, autograded_from_the_page, shots):
    from selenium.webdriver.common.by import By
    course, base, token = server
    from nbconvert import HTMLExporter
    page = course / "release.html"  # the release as a page, rendered by nbconvert
    page.write_text(HTMLExporter().from_filename(str(course / "release" / ASSIGNMENT / NOTEBOOK))[0], encoding="utf-8")
    browser.get(page.as_uri())
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "思考题1" in text and "评分要点" not in text
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    browser.get(feedback_html(course, STUDENT).as_uri())
    text = browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(shots / "feedback.png"))
    assert "思考题1" in text and "评分要点" not in text and "MARK SCHEME" not in text
    assert "history saving thread" not in text


def test_class_report_shows_its_figures(server, browser, autograded_from_the_page, shots):
    from tools import class_report
    from selenium.webdriver.common.by import By
    course = server[0]
    page, mistakes = class_report.write(course)
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
