"""A PostgreSQL gradebook ($LAB2_DB_URL), with a real server: Debian's postgresql, started by these tests in a
temporary folder (tools/scratch_postgres.py: a unix socket there, no TCP), stopped at the end.

- the sample class graded as 3 shards in 3 processes (`--shard 0/3`, the Kubernetes form with
  JOB_COMPLETION_INDEX, `--shard 2/3`), every worker with one connection (the database role allows no more), gives
  exactly the rows of serial SQLite autograde; tools/class_status.py shows the local runs and the pod's alike
  (a real Slurm array: tests/test_slurm.py);
- a shard killed midway and run again completes the gradebook, with no duplicate rows and nobody missing;
  nbgrader's own serial autograde, regrading a student there, writes the same rows;
- two TAs on two Jupyter servers enter 思考题 scores into the same gradebook at the same time through the
  Formgrader's API, and none is lost; the class report, the grade table, the export and the feedback read them.
"""
import csv
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import course as lab  # the module; `course` is the serial SQLite course (conftest)
from conftest import jupyter_server, make_course
from grading import parts
from tools import autograde_parallel, submissions
from tools.scratch_postgres import ScratchPostgres

pytestmark = pytest.mark.slow  # a database server, autograde of the sample class, Jupyter servers

SHARDS = 3
BROKEN = "unreadable"  # its upload is not a notebook: shard 2's student
PROBE = "db_probe"  # tries to reach the gradebook from the sandbox
TOOL = str(lab.ROOT / "tools" / "autograde_parallel.py")


@pytest.fixture(scope="module")
def pg():
    with ScratchPostgres() as server:
        yield server


@contextmanager
def db_url(url):
    """LAB2_DB_URL in this process (lab.gradebook, the tools' functions), for the duration."""
    old = os.environ.get(lab.DB_URL_VARIABLE)
    os.environ[lab.DB_URL_VARIABLE] = url
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(lab.DB_URL_VARIABLE)
        else:
            os.environ[lab.DB_URL_VARIABLE] = old


def rows(url, folder):
    with db_url(url):
        return lab.gradebook_rows(folder)


def pg_course(folder, mnist_dir, url):
    """A fresh course whose gradebook is the database at `url`, filled by nbgrader generate_assignment (no
    gradebook.db: anything that still opened SQLite would find an empty gradebook), with the sample class."""
    make_course(folder, mnist_dir)
    (folder / "gradebook.db").unlink()
    env = dict(os.environ, LAB2_DB_URL=url)
    result = subprocess.run(["nbgrader", "generate_assignment", lab.ASSIGNMENT, "--force"], cwd=folder, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (folder / "gradebook.db").exists(), "nbgrader generate_assignment wrote into SQLite, not PostgreSQL"
    submissions.write_samples(folder)
    (folder / "tools").symlink_to(lab.ROOT / "tools")  # the course is a checkout: deploy/ runs tools/ from it
    (folder / "deploy").symlink_to(lab.ROOT / "deploy")
    return env


def db_probe(folder, socket_folder):
    """The complete sample, its ReLU cell also trying the gradebook: its server's socket, its URL."""
    answers = dict(submissions.samples(lab.read(lab.source_nb(folder)))["sample_complete"][0])
    answers["relu_impl"] += (f"\n\nimport os, socket\n_s = socket.socket(socket.AF_UNIX)\ntry:\n"
                             f"    _s.connect({os.path.join(socket_folder, '.s.PGSQL.5432')!r})\n"
                             f"    print('DB REACHED')\nexcept OSError as _e:\n    print('DB NOT REACHED', type(_e).__name__)\n"
                             f"print('DB URL SEEN:', os.environ.get('LAB2_DB_URL'))\n")
    return submissions.fill(lab.read(lab.release_nb(folder)), answers)


def shard_command(i, env):
    """Shard i of SHARDS, each the way one kind of job array starts it."""
    if i == 0:
        return [sys.executable, TOOL, "--shard", f"0/{SHARDS}", "--workers", "1"], env
    if i == 1:  # deploy/kubernetes/autograde-job.yaml's command, its index from the Indexed Job
        return [sys.executable, TOOL, "--shards", str(SHARDS), "--workers", "1"], dict(env, JOB_COMPLETION_INDEX="1")
    return [sys.executable, TOOL, "--shard", f"2/{SHARDS}", "--workers", "1"], env


@pytest.fixture(scope="module")
def sharded(pg, tmp_path_factory, mnist_dir):
    """The sample class graded as SHARDS shards in SHARDS processes at once, by a database role that may hold one
    connection per shard process and one per worker, no more."""
    url = pg.create_database("lab2", user="ta")
    folder = tmp_path_factory.mktemp("pg_course")
    env = pg_course(folder, mnist_dir, url)
    broken = lab.submitted_nb(folder, BROKEN)  # an upload that nbgrader's autograde cannot read
    broken.parent.mkdir(parents=True)
    broken.write_text("{ not a notebook", encoding="utf-8")
    submissions.write_submission(folder, PROBE, db_probe(folder, pg.folder))
    pg.execute(f'ALTER ROLE ta CONNECTION LIMIT {SHARDS * 2}')  # each shard: the command (before its worker), 1 worker
    start = time.time()
    procs = [subprocess.Popen(cmd, cwd=folder, env=shard_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for cmd, shard_env in (shard_command(i, env) for i in range(SHARDS))]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    print(f"\n{SHARDS} shards of the sample class in {time.time() - start:.1f} s")
    pg.execute("ALTER ROLE ta CONNECTION LIMIT -1")
    return folder, url, env, [(p.returncode, out) for p, out in zip(procs, outputs)]


def test_three_shards_write_the_rows_of_serial_sqlite_autograde(sharded, course, graded_samples):
    folder, url, _, results = sharded
    for i, (code, out) in enumerate(results):
        assert f"shard {i}/{SHARDS}" in out, out
        if i == autograde_parallel.shard_of(BROKEN, SHARDS):  # the student nbgrader could not grade is listed
            assert code == 2 and f"NOT GRADED -- review these submissions by hand:\n  {BROKEN}: " in out, out
            assert (folder / "autograde_logs" / f"{BROKEN}.log").exists()
        else:
            assert code == 0 and "NOT GRADED" not in out, f"shard {i}:\n{out}"
    assert "from JOB_COMPLETION_INDEX" in results[1][1]
    graded = [r for r in rows(url, folder) if r[0] not in (BROKEN, PROBE)]
    assert graded == course_rows(course) and graded, "the shards' gradebook differs from serial SQLite autograde"
    for student in graded_samples:
        assert lab.autograded_nb(folder, student).exists()
    printed = "".join(o.get("text", "") for c in lab.read(lab.autograded_nb(folder, PROBE)).cells
                      for o in c.get("outputs", []))
    assert "DB NOT REACHED" in printed and "DB URL SEEN: None" in printed, "the sandbox reached the gradebook"


def test_class_status_shows_local_runs_and_a_pod_alike(sharded):
    """The records of the three shard processes (two local, one as a Kubernetes pod), read with the gradebook."""
    folder, url, env, _ = sharded
    result = subprocess.run([sys.executable, str(lab.ROOT / "tools" / "class_status.py")], cwd=folder, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    broken = autograde_parallel.shard_of(BROKEN, SHARDS)
    for i in range(SHARDS):
        where = r"pod \S+" if i == 1 else r"pid \d+"
        state = "failed" if i == broken else "done"
        assert re.search(rf"^ +{i}  {state} +\d+ +\d+ +0 +{int(i == broken)} +0  {where} on ", result.stdout, re.M), \
            result.stdout
    assert re.search(r"^class +6 +5 +0 +1 +0$", result.stdout, re.M), result.stdout  # 4 samples, the probe, BROKEN
    assert f"grade the failed students again (their shards):\n  python tools/autograde_parallel.py --course {folder} " \
           f"--shard {broken}/{SHARDS}" in result.stdout


def course_rows(folder):
    """The rows of the serial run's SQLite gradebook (LAB2_DB_URL unset)."""
    old = os.environ.pop(lab.DB_URL_VARIABLE, None)
    try:
        return lab.gradebook_rows(folder)
    finally:
        if old is not None:
            os.environ[lab.DB_URL_VARIABLE] = old


def children(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_shard_run_again_completes_the_gradebook(pg, tmp_path, mnist_dir, course, graded_samples):
    """Shard 1 of 2 is killed (SIGKILL, as when its node fails) once it is midway through its second student, while
    shard 0 grades on; its worker dies with it; run again, it completes the gradebook: the rows of serial autograde,
    no duplicates, nobody missing."""
    url = pg.create_database("lab2_killed")
    env = pg_course(tmp_path, mnist_dir, url)
    mine = sorted(s for s in graded_samples if autograde_parallel.shard_of(s, 2) == 1)
    assert len(mine) >= 2, mine
    shard = [sys.executable, TOOL, "--shard", "1/2", "--workers", "1"]
    other = subprocess.Popen([sys.executable, TOOL, "--shard", "0/2", "--workers", "1"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    victim = subprocess.Popen(shard, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    database = make_url(url).database
    deadline = time.time() + 600
    while True:  # midway: its first student graded, the second one's submission row made, its grading under way
        started = {r[0] for r in pg.execute("SELECT student_id FROM submitted_assignment", database=database)[0]}
        if len(started & set(mine)) >= 2 or victim.poll() is not None or time.time() > deadline:
            break
        time.sleep(0.2)
    assert victim.poll() is None, "the shard ended before it could be killed midway:\n" + victim.communicate()[0]
    workers = children(victim.pid)
    assert workers, "the shard has no worker process"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    at_the_kill = [r for r in rows(url, tmp_path) if r[0] in mine]
    end = time.time() + 30
    while any(alive(w) for w in workers) and time.time() < end:
        time.sleep(0.2)
    assert not any(alive(w) for w in workers), "a killed shard's worker lives on"
    time.sleep(3)
    assert [r for r in rows(url, tmp_path) if r[0] in mine] == at_the_kill, \
        "a killed shard's worker went on writing into the gradebook"
    assert other.wait(timeout=600) == 0, other.communicate()[0]
    before = rows(url, tmp_path)
    assert before != course_rows(course), "the killed shard had already finished: nothing to complete"
    again = subprocess.run(shard, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "NOT GRADED" not in again.stdout, again.stdout + again.stderr
    assert rows(url, tmp_path) == course_rows(course)
    counts = pg.execute("SELECT count(*), count(DISTINCT student_id) FROM submitted_assignment",
                        "SELECT count(*), count(DISTINCT (notebook_id, cell_id)) FROM grade", database=database)
    (submitted, distinct), = counts[0]
    (grades, distinct_grades), = counts[1]
    assert submitted == distinct == len(graded_samples) and grades == distinct_grades
    # nbgrader's own serial autograde on the same gradebook (a regrade) writes the same rows in place
    result = subprocess.run(["nbgrader", "autograde", lab.ASSIGNMENT, "--student", mine[0], "--force"], cwd=tmp_path,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert rows(url, tmp_path) == course_rows(course)


# ---------------------------------------------------------------- two TAs, two Jupyter servers, one gradebook
def api(base, token, path, body=None):
    import json
    request = urllib.request.Request(f"{base}/formgrader/api/{path}", method="PUT" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def score(student, question):
    return float((sum(map(ord, student)) + int(question[1:])) % 8)  # 0 .. 7, different across the class


@pytest.fixture(scope="module")
def two_tas(sharded):
    """TA A grades q1-q3 and TA B q4-q5 of every student, each on a Jupyter server of their own, at the same time,
    each opening a submission's grades as the grading page does before entering a score."""
    folder, url, env, _ = sharded
    with db_url(url), lab.gradebook(folder) as gb:
        answers = {(s.student_id, g.name): (g.id, nb.id) for s in gb.assignment_submissions(lab.ASSIGNMENT)
                   for nb in s.notebooks for g in nb.grades if g.name.endswith("_answer") and s.student_id not in (BROKEN, PROBE)}
    assert len(answers) == 4 * 5, answers
    with jupyter_server(folder, env, "ta_a") as a, jupyter_server(folder, env, "ta_b") as b:
        work = {a: [k for k in answers if k[1][:2] in ("q1", "q2", "q3")], b: [k for k in answers if k[1][:2] in ("q4", "q5")]}
        start, errors = threading.Barrier(2), []

        def grade(server, keys):
            try:
                start.wait()
                for student, name in sorted(keys, key=lambda k: (k[1], k[0])):
                    grade_id, notebook_id = answers[(student, name)]
                    api(*server, f"grades?submission_id={notebook_id}")  # the grading page loads the submission
                    saved = api(*server, f"grade/{grade_id}", {"manual_score": score(student, name[:2])})
                    assert saved["manual_score"] == score(student, name[:2]), saved
            except Exception as err:  # reported by the test
                errors.append(f"{server[0]}: {err!r}")

        threads = [threading.Thread(target=grade, args=item) for item in work.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seen = {server: {(g["student"], g["name"]): g["manual_score"] for _, notebook_id in set(answers.values())
                         for g in api(*server, f"grades?submission_id={notebook_id}") if g["name"].endswith("_answer")}
                for server in (a, b)}
    return folder, url, env, answers, errors, seen


def test_two_tas_on_two_jupyter_servers_lose_no_score(two_tas):
    folder, url, _, answers, errors, seen = two_tas
    assert not errors, errors
    expected = {(s, name): score(s, name[:2]) for s, name in answers}
    with db_url(url), lab.gradebook(folder) as gb:
        stored = {(s.student_id, g.name): g.manual_score for s in gb.assignment_submissions(lab.ASSIGNMENT)
                  for nb in s.notebooks for g in nb.grades if g.name.endswith("_answer") and s.student_id not in (BROKEN, PROBE)}
    assert stored == expected
    for server, scores in seen.items():  # each TA's server shows the other's scores too
        assert scores == expected, f"{server[0]} shows stale scores"


def test_class_report_grade_table_export_and_feedback_read_the_postgres_gradebook(two_tas, graded_samples):
    folder, url, env, answers, _, _ = two_tas
    manual = {}
    for student, name in answers:
        manual[student] = manual.get(student, 0) + score(student, name[:2])
    for tool in ("class_report.py", "grade_table.py"):  # the TA's commands, in the course folder
        result = subprocess.run([sys.executable, str(lab.ROOT / "tools" / tool)], cwd=folder, env=env,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    with open(folder / "class_report.csv", newline="", encoding="utf-8") as f:
        report = {r["student"]: r for r in csv.DictReader(f)}
    assert set(report) - {BROKEN, PROBE} == set(graded_samples)
    for student, (points, _) in graded_samples.items():
        assert float(report[student]["auto"]) == points
        assert sum(float(report[student][q]) for q in parts.QUESTION_NAMES) == manual[student], report[student]
    assert "relu_derivative_at_zero" in report["sample_mistakes"]["mistakes"]
    assert "not JSON at line 1" in report[BROKEN]["not graded"], report[BROKEN]  # the upload nbgrader could not grade
    assert "sample_complete" in result.stdout  # the grade table
    nbgrader_env(folder, env, "export", "--to", "grades.csv")
    with open(folder / "grades.csv", newline="") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)
                    if r["student_id"] not in (BROKEN, PROBE)}
    assert exported == {s: points + manual[s] for s, (points, _) in graded_samples.items()}
    nbgrader_env(folder, env, "generate_feedback", lab.ASSIGNMENT, "--force")
    for student in graded_samples:
        assert lab.feedback_html(folder, student).exists()


def nbgrader_env(folder, env, *args):
    result = subprocess.run(["nbgrader", *args], cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result

