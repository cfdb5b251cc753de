"""Autograde a whole class with one worker per core; the gradebook ends up with the rows nbgrader's own
serial `nbgrader autograde` writes. With a PostgreSQL gradebook, several machines grade one class together,
each a shard of it.

Each worker is one long-lived Python process: it loads nbgrader and torch once, keeps the next student's sandboxed
kernel booting while it stores the last one (grading/safe_execute.py, prestart), and grades the students it is
handed, one at a time, with nbgrader's own autograde (NbGraderAPI.autograde, what the command line and the
Formgrader run). Students are handed out as workers free up, so one slow submission holds one worker only. A
student whose grading fails (nbgrader's autograde failed, or the worker died or hung) is listed as NOT GRADED for
review; the others are graded regardless.

The gradebook (course.py: db_url):
- SQLite gradebook.db (the default; one writer): each worker grades in a private copy of the course (its own
  gradebook copy, links to the shared parts and to the submissions); then each worker's rows of the students it
  graded, and their executed notebooks, are copied into the course (tools/gradebook_merge.py: the merge).
- PostgreSQL ($LAB2_DB_URL): the workers grade in the course folder itself and write their rows straight into the
  database, no merge. Before they start, this command makes the course rows and a row for each of its students
  (INSERT ... ON CONFLICT DO NOTHING, safe with any number of shards at once): nbgrader's own
  update_or_create_student looks up, then inserts, and two writers would clash on the key. Each worker holds one
  database connection (nbgrader opens a new one for each of its Gradebooks, nbgrader#560).

Shards: `--shard I/N` (I = 0 .. N-1) grades a fixed 1/N of the students (by a hash of the student id, so a shard
grades the same students whenever it runs). In a job array the index comes from SLURM_ARRAY_TASK_ID or from
Kubernetes' JOB_COMPLETION_INDEX, the count from --shards N (tools/shards.py). N machines that share the course
folder (NFS) and one PostgreSQL gradebook grade a class together; a shard that died is run again and regrades its
students (no duplicate rows: nbgrader updates a student's rows in place). Each run keeps a record in the course
folder (tools/shard_records.py) that tools/class_status.py reads; --list prints a shard's students, grading none.

    python tools/autograde_parallel.py [--course .] [--workers N] [--student ID ...] [--shard I/N | --shards N] [--list]
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tqdm.auto import tqdm

import course
from tools import gradebook_merge
from tools.shard_records import Record
from tools.shards import shard_of, which_shard

SHARED = ("nbgrader_config.py", "course.py", "grading", "source", "release", "data")


POOL_TIMEOUT = 120  # seconds a worker's Gradebook waits for the worker's one database connection


# ---------------------------------------------------------------- PostgreSQL: before the workers, and in each worker
def prepare_postgres(url, students):
    """Before any worker writes: the assignment must be in the gradebook; the course rows and a row for each student
    are made here, race-free (ON CONFLICT DO NOTHING), so nbgrader's look-up-then-insert never runs concurrently."""
    from nbgrader.api import Assignment, Course, Student
    from sqlalchemy import create_engine, inspect, select
    from sqlalchemy.dialects.postgresql import insert
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as db:
            if "assignment" not in inspect(db).get_table_names() or \
                    db.execute(select(Assignment.id).where(Assignment.name == course.ASSIGNMENT)).first() is None:
                sys.exit(f"the gradebook {course.shown_url(url)} has no assignment {course.ASSIGNMENT}: run "
                         f"`nbgrader generate_assignment {course.ASSIGNMENT} --force` once, before the shards")
            # nbgrader's Gradebook() without a course id checks for "default_course" (and makes it) every time
            db.execute(insert(Course.__table__).on_conflict_do_nothing(),
                       [{"id": course.COURSE_ID}, {"id": "default_course"}])
            if students:
                db.execute(insert(Student.__table__).on_conflict_do_nothing(), [{"id": s} for s in students])
    except OperationalError as err:
        sys.exit(f"cannot reach the gradebook {course.shown_url(url)} ({course.DB_URL_VARIABLE}): {str(err.orig).strip()}")
    finally:
        engine.dispose()


def one_connection(url):
    """Every Gradebook this process opens shares one engine that holds at most one connection to the database
    (nbgrader makes a new engine, so a new connection, for each of its Gradebooks, about ten per student)."""
    import nbgrader.api
    import sqlalchemy
    engine = sqlalchemy.create_engine(url, pool_size=1, max_overflow=0, pool_timeout=POOL_TIMEOUT, pool_pre_ping=True)
    engine.dispose = lambda *args, **kwargs: None  # Gradebook.close() disposes its engine: this one is the worker's
    nbgrader.api.create_engine = lambda u, **kw: engine if u == url else sqlalchemy.create_engine(u, **kw)


def scratch_sqlite(url):
    """A worker's private gradebook (SQLite) is a scratch copy, merged into the course's when the class is graded
    (tools/gradebook_merge.py): its commits need not wait for the disk (PRAGMA synchronous=OFF; 5 to 25 ms a commit
    on the build machine otherwise). The course's own gradebook.db keeps SQLite's default."""
    import nbgrader.api
    import sqlalchemy

    def create_engine(u, **kw):
        engine = sqlalchemy.create_engine(u, **kw)
        if u == url:
            sqlalchemy.event.listen(engine, "connect", lambda db, _: db.execute("PRAGMA synchronous=OFF"))
        return engine
    nbgrader.api.create_engine = create_engine


def die_with_parent():
    """A worker ends when the command that started it ends, even killed: a dead shard leaves no writer behind."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass


# ---------------------------------------------------------------- the workers
def private_course(main, folder, students):
    """A course copy for one worker (SQLite): links to the shared parts and the submissions, its own gradebook."""
    (folder / "submitted").mkdir(parents=True)
    for name in SHARED:
        if (main / name).exists():
            (folder / name).symlink_to(main / name)
    shutil.copyfile(main / "gradebook.db", folder / "gradebook.db")
    for student in students:
        (folder / "submitted" / student).symlink_to(main / "submitted" / student)
    return folder


def serve(folder):
    """The worker (`--serve FOLDER`): grade each student id read from stdin, answer one JSON line each."""
    if os.getppid() != int(os.environ.get("LAB2_WORKER_PARENT", os.getppid())):
        sys.exit("the command that started this worker has ended")
    die_with_parent()
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed goes to stderr, never into the answers
    os.chdir(folder)
    sys.path.insert(0, str(folder))  # the course's own grading/, as `nbgrader` itself imports it (cwd first)
    url = course.db_url(folder)
    if course.is_sqlite(url):
        scratch_sqlite(url)
    else:
        one_connection(url)
    from nbgrader.apps import NbGrader
    from nbgrader.apps.api import NbGraderAPI
    app = NbGrader()
    app.load_config_file()  # the course's nbgrader_config.py, as `nbgrader autograde` reads it
    app.config.SafeExecute.prestart = True  # this worker is handed more students: the next kernel boots meanwhile
    api = NbGraderAPI(parent=app)
    for line in sys.stdin:
        student, start = line.strip(), time.time()
        result = api.autograde(course.ASSIGNMENT, student, force=True, create=True)
        graded = course.autograded_nb(folder, student)
        error = None
        if not result.get("success") or not graded.exists():
            text = (result.get("log") or "") + (result.get("error") or "")
            errors = [l for l in text.splitlines() if "ERROR" in l or "Error" in l]
            error = {"message": errors[0] if errors else "nbgrader autograde failed", "log": text}
        answer.write(json.dumps({"student": student, "seconds": time.time() - start, "error": error}) + "\n")
        answer.flush()


class Worker:
    """One worker process, talked to line by line."""

    def __init__(self, folder, log, env):
        self.folder, self.log, self.env = folder, log, env
        self.start()

    def start(self):
        with open(self.log, "a") as log:  # nbgrader's log of this worker
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", str(self.folder)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                         env=self.env)
        self.answers = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc, self.answers), daemon=True).start()

    @staticmethod
    def _read(proc, answers):
        for line in proc.stdout:
            answers.put(json.loads(line))
        answers.put(None)  # the worker ended

    def grade(self, student, timeout):
        """{"student", "seconds", "error"} for one student; a worker that hangs or dies is replaced."""
        start = time.time()
        try:
            self.proc.stdin.write(student + "\n")
            self.proc.stdin.flush()
            answer = self.answers.get(timeout=timeout)
        except (OSError, queue.Empty):
            answer = None
        if answer is None:
            self.proc.kill()
            self.proc.wait()
            self.start()
            return {"student": student, "seconds": time.time() - start,
                    "error": {"message": f"the grading worker gave no result within {timeout:.0f} s", "log": ""}}
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def worker_env():
    """One thread per worker: N kernels and N graders do not fight over every core."""
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", LAB2_WORKER_PARENT=str(os.getpid()))


def student_timeout():
    """Seconds to wait for one student: the notebook's budget and nbgrader's own work."""
    from grading.safe_execute import SafeExecute  # nbgrader and torch's kernel side: only when grading
    return SafeExecute().notebook_timeout + 300


def autograde_parallel(main=".", students=None, workers=None, timeout=None, quiet=False, shard=None):
    """Grade `students` (default: everyone in submitted/) of the course in `main`, or of them the ones of `shard`
    (index, count); return {student: error} for the failures. A run of the class or a shard keeps a record
    (tools/shard_records.py); a run of named students keeps none."""
    main = Path(main).resolve()
    timeout = timeout or student_timeout()
    url = course.db_url(main)
    named, students = students, class_students(main, shard, students)
    if shard is not None and shard[1] > 1 and course.is_sqlite(url):
        sys.exit(f"shards write into one gradebook at once: set {course.DB_URL_VARIABLE} to a PostgreSQL gradebook "
                 "(SQLite is for one writer)")
    if not students:
        if not named:
            Record(main, shard or (0, 1), students).done()
        return {}
    workers = max(1, min(workers or os.cpu_count() or 1, len(students)))
    if course.is_sqlite(url) and not (main / "gradebook.db").exists():
        sys.exit(f"no gradebook.db: run `nbgrader generate_assignment {course.ASSIGNMENT} --force` first")
    if course.sandbox_on() and shutil.which("bwrap") is None:
        sys.exit(course.SANDBOX_MISSING)
    if not course.is_sqlite(url):
        prepare_postgres(url, students)
    record = None if named else Record(main, shard or (0, 1), students)
    failures, todo = {}, queue.Queue()
    for student in students:
        todo.put(student)
    with tempfile.TemporaryDirectory(prefix="autograde-") as tmp:
        if course.is_sqlite(url):  # private copies, merged at the end
            folders = [private_course(main, Path(tmp) / f"worker{i}", students) for i in range(workers)]
        else:  # every worker in the course itself, writing into the database
            folders = [main] * workers
        pool = [Worker(folder, Path(tmp) / f"worker{i}.log", worker_env()) for i, folder in enumerate(folders)]
        label = f"autograde ({workers} workers" + (f", shard {shard[0]}/{shard[1]})" if shard else ")")
        bar = tqdm(total=len(students), desc=label, unit="student", disable=quiet)
        lock = threading.Lock()

        def run(worker):
            while True:
                try:
                    student = todo.get_nowait()
                except queue.Empty:
                    return worker.close()
                answer = worker.grade(student, timeout)
                with lock:
                    if answer["error"]:
                        log = main / "autograde_logs" / f"{student}.log"
                        log.parent.mkdir(exist_ok=True)
                        log.write_text(answer["error"]["log"], encoding="utf-8")
                        failures[student] = f"{answer['error']['message']} (log: {log})"
                    if record and answer["error"]:
                        record.failed(student, failures[student])
                    elif record:
                        record.graded(student)
                    bar.set_postfix_str(f"{student} {answer['seconds']:.0f} s" + (" FAILED" if answer["error"] else ""))
                    bar.update()

        threads = [threading.Thread(target=run, args=(w,)) for w in pool]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bar.close()
        graded = [s for s in students if s not in failures]
        if graded and course.is_sqlite(url):  # the merge also writes the executed notebooks to autograded/
            gradebook_merge.merge(main, folders, graded)
    if record:
        record.done()
    return failures


def class_students(main, shard=None, students=None):
    """`students` (default: everyone in submitted/), or of them the ones of `shard` (index, count), sorted."""
    students = sorted(students or (p.name for p in (Path(main) / "submitted").iterdir() if p.is_dir()))
    return [s for s in students if shard is None or shard_of(s, shard[1]) == shard[0]]


def main():
    if sys.argv[1:2] == ["--serve"]:
        return serve(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel workers (default: cores)")
    parser.add_argument("--student", nargs="*", help="only these students (default: all in submitted/)")
    parser.add_argument("--timeout", type=float, help="seconds for one student before its worker is replaced "
                        "(default: the notebook's time budget, c.SafeExecute.notebook_timeout, and 300 s for nbgrader)")
    parser.add_argument("--shard", metavar="I/N", help="grade shard I of N (I = 0 .. N-1); needs PostgreSQL")
    parser.add_argument("--shards", type=int, metavar="N",
                        help="the number of shards, when the index comes from a job array (SLURM_ARRAY_TASK_ID, "
                             "Kubernetes' JOB_COMPLETION_INDEX)")
    parser.add_argument("--list", action="store_true", help="print the students this run would grade; grade none")
    args = parser.parse_args()
    shard = which_shard(args.shard, args.shards)
    if args.list:
        students = class_students(args.course, shard and shard[:2], args.student)
        where = f"shard {shard[0]}/{shard[1]} (from {shard[2]})" if shard else "the class"
        return print(f"{where}: {len(students)} students: {' '.join(students)}")
    start = time.time()
    failures = autograde_parallel(args.course, args.student, args.workers, args.timeout, shard=shard and shard[:2])
    where = f"shard {shard[0]}/{shard[1]} (from {shard[2]}), " if shard else ""
    print(f"{where}done in {time.time() - start:.1f} s; gradebook {course.shown_url(course.db_url(args.course))}")
    if failures:
        print("NOT GRADED -- review these submissions by hand:")
        for student, error in sorted(failures.items()):
            print(f"  {student}: {error}")
        sys.exit(2)


if __name__ == "__main__":
    main()
