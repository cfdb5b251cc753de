"""Safe autograde: adversarial submissions (tests/adversarial.py) graded in one batch with honest
ones, in the bubblewrap sandbox. Nothing reaches the gradebook, other students' work, source/ or
the network; a fault costs only its own submission; every honest grade is intact."""
import hashlib
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import nbformat
import pytest

from adversarial import SECRET, attacks, submission
from conftest import RELEASE_NB, SOURCE_NB, make_course, nbgrader
from tools import autograde_parallel, integrity_report, submissions
from course import ASSIGNMENT, autograded_nb, autograded_points, cell_scores, feedback_html
from grading.parts import part_name as part

pytestmark = pytest.mark.slow  # grades an adversarial batch

SOURCE = nbformat.read(str(SOURCE_NB), as_version=4)
POINTS = autograded_points(SOURCE)
HONEST = {"honest_complete_a": "sample_complete", "honest_complete_b": "sample_complete",
          "honest_partial": "sample_partial"}


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Listener:
    """A TCP listener on 127.0.0.1 that records whatever connects to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.received = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.received.append(conn.recv(100))
            conn.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, mnist_dir, monkeypatch_module):
    assert shutil.which("bwrap"), "bubblewrap is not installed (.ci/run installs it: apt-get install bubblewrap)"
    monkeypatch_module.setenv("LAB2_CELL_TIMEOUT", "30")
    monkeypatch_module.setenv("LAB2_NOTEBOOK_TIMEOUT", "70")  # the sleeper's cells take 4 x 20 s
    monkeypatch_module.setenv("LAB2_DISK_BUDGET_MB", "64")    # the disk filler writes 200 MiB
    course = make_course(tmp_path_factory.mktemp("sandbox"), mnist_dir)
    listener = Listener()
    release_nb = nbformat.read(str(RELEASE_NB), as_version=4)
    samples = submissions.samples(SOURCE)
    for student, sample in HONEST.items():
        submissions.write_submission(course, student, submissions.fill(release_nb, samples[sample][0]))
    the_attacks = attacks(listener.port)
    for attack in the_attacks:
        submissions.write_submission(course, attack.name, submission(release_nb, SOURCE, attack))
    protected = {name: digest(course / name) for name in ("source", "release", "grading")}
    protected["submitted"] = digest(course / "submitted")
    failures = autograde_parallel.autograde_parallel(course, quiet=True)
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    return course, listener, the_attacks, protected, failures, samples


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def graded_notebook(course, student):
    return nbformat.read(str(autograded_nb(course, student)), 4)


def outputs_text(course, student):
    """What the student's kernel printed (the grader's verdicts, which quote the code, left out)."""
    nb = graded_notebook(course, student)
    verdict = lambda c, o: o.get("evalue") and o.get("evalue") == c.metadata.get("lab2", {}).get("message")
    return "".join(o.get("text", "") + o.get("evalue", "") + str(o.get("data", {}).get("text/plain", ""))
                   for c in nb.cells for o in c.get("outputs", []) if not verdict(c, o))


def blocked(course, listener, protected, attack):
    """True when the attack got nothing: the check named by attack.blocked_if."""
    text = outputs_text(course, attack.name)
    check = attack.blocked_if
    if check == "no_leak":
        return SECRET not in text and "LEAK" not in text
    if check == "no_leak_in_feedback":  # the kernel's own history is the student's; the feedback is not
        page = feedback_html(course, attack.name)
        return page.exists() and SECRET not in page.read_text(encoding="utf-8")
    if check == "gradebook_intact":
        return "REWROTE" not in text
    if check == "files_intact":
        return "CHANGED" not in text and all(digest(course / n) == protected[n] for n in ("source", "release"))
    if check == "no_pwned_file":
        places = [course, course / "autograded", Path.home(), Path("/root")]
        return "WROTE" not in text and not any((p / "PWNED.txt").exists() for p in places)
    if check == "no_connection":
        return not listener.received and "CONNECTED" not in text
    if check == "keeps_earlier":
        scores = cell_scores(course, attack.name)
        return all(score == POINTS[gid] for gid, score in scores.items() if part(gid) not in attack.lost_parts)
    if check in ("time_budget", "disk_budget"):  # stopped, flagged, the cells before kept, nothing on the host
        scores = cell_scores(course, attack.name)
        review = graded_notebook(course, attack.name).metadata.get("lab2_needs_review", {})
        fault = {"time_budget": "NotebookTimeBudget", "disk_budget": "DiskBudget"}[check]
        return (review.get("fault") == fault and scores["dropout_mask"] == 0
                and all(score == POINTS[gid] for gid, score in scores.items()
                        if part(gid) not in attack.lost_parts)
                and not list(course.rglob("filler.bin")))
    if check == "no_write_outside_the_budget":
        return "WROTE" not in text
    raise ValueError(check)


def test_every_submission_was_graded(batch):
    course, _, the_attacks, _, failures, _ = batch
    assert not failures, failures


def test_every_attack_is_blocked(batch):
    course, listener, the_attacks, protected, _, _ = batch
    results = {a.name: blocked(course, listener, protected, a) for a in the_attacks}
    print(f"\nattempts {len(results)}, blocked {sum(results.values())}")
    for name, ok in results.items():
        print(f"  {name:36s} {'blocked' if ok else 'GOT THROUGH'}")
    assert all(results.values()), [n for n, ok in results.items() if not ok]


def test_honest_grades_are_intact(batch):
    course, _, _, protected, _, samples = batch
    for student, sample in HONEST.items():
        expected = {gid: (0.0 if gid in samples[sample][1] else POINTS[gid]) for gid in POINTS}
        assert cell_scores(course, student) == expected, student
    assert digest(course / "submitted") == protected["submitted"]
    assert digest(course / "grading") == protected["grading"]


def test_faults_are_flagged_for_review(batch):
    course = batch[0]
    report = integrity_report.report(course)
    for student in ("os_exit", "segfault", "sleeper", "disk_filler"):
        kinds = {kind for kind, _ in report[student]}
        assert "grading stopped: needs review" in kinds, report[student]
    for student in HONEST:
        assert report[student] == [], report[student]
    for attack in ("read_gradebook_hidden_tests", "rewrite_scores", "connect_to_localhost"):
        assert any(kind.startswith("risky") for kind, _ in report[attack]), report[attack]
    print("\n" + integrity_report.as_markdown(report))


def test_autograde_refuses_without_bubblewrap(tmp_path, mnist_dir):
    """Without bwrap, grading a submission stops the run with a message that says what to do; nothing is graded.
    In a course of its own: the refused run still leaves the student's rows in the gradebook (at 0), which the
    session's shared course must not hold (tests/test_slurm.py compares its rows)."""
    course = make_course(tmp_path / "course", mnist_dir)
    student = "no_sandbox_here"
    submissions.write_submission(course, student, nbformat.read(str(RELEASE_NB), as_version=4))
    env = dict(os.environ, PATH=str(Path(shutil.which("nbgrader")).parent))
    env.pop("LAB2_SANDBOX", None)
    result = subprocess.run([shutil.which("nbgrader"), "autograde", ASSIGNMENT, "--student", student, "--force"],
                            cwd=course, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "bubblewrap" in result.stderr and "LAB2_SANDBOX=off" in result.stderr, result.stderr
    assert not autograded_nb(course, student).exists()
