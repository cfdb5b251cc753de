"""Autograde a whole class with one worker per core; the gradebook ends up with the rows nbgrader's own
serial `nbgrader autograde` writes.

Each worker is one long-lived Python process with a private copy of the course (its own gradebook copy,
links to source/, release/, grading/ and to the submissions): it loads nbgrader and torch once, keeps the
next student's sandboxed kernel booting while it stores the last one (grading/safe_execute.py), and grades
the students it is handed, one at a time, with nbgrader's own autograde (NbGraderAPI.autograde, what the
command line and the Formgrader run). Students are handed out as workers free up, so one slow submission
holds one worker only. Then one `nbgrader autograde` run in the course itself, with notebook execution
switched off, reads the executed notebooks and writes their grades into the course's gradebook with
nbgrader's own SaveAutoGrades. A student whose grading fails is listed for review; the others are graded
regardless.

    python tools/autograde_parallel.py [--workers N] [--student ID ...] [--course .]
"""
import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tqdm.auto import tqdm

import course

SHARED = ("nbgrader_config.py", "grading", "source", "release", "data")
# The merge run: nbgrader's autograde without ClearOutput and Execute, so it scores the outputs
# the workers produced instead of running the notebooks again.
MERGE_FLAGS = [f"--Autograde.sanitize_preprocessors=nbgrader.preprocessors.{p}"
               for p in ("DeduplicateIds", "OverwriteKernelspec", "OverwriteCells", "CheckCellMetadata")] + \
              [f"--Autograde.autograde_preprocessors={p}" for p in (
                  "grading.rubrics.SaveAutoGradesAndRubrics", "nbgrader.preprocessors.AssignLatePenalties",
                  "nbgrader.preprocessors.CheckCellMetadata")]


def private_course(main, folder, students):
    """A course copy for one worker: links to the shared parts and the submissions, its own gradebook."""
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
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed goes to stderr, never into the answers
    os.chdir(folder)
    sys.path.insert(0, str(folder))  # the course's own grading/, as `nbgrader` itself imports it (cwd first)
    sys.argv[1:] = ["autograde", course.ASSIGNMENT]  # read the course's config as `nbgrader autograde` does
    from nbgrader.apps import NbGrader
    from nbgrader.apps.api import NbGraderAPI
    app = NbGrader()
    app.load_config_file()
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

    def __init__(self, folder, env):
        self.folder, self.env = folder, env
        self.start()

    def start(self):
        with open(self.folder / "worker.log", "a") as log:  # nbgrader's log of this worker
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
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def merge(main, folders, students):
    """Write the workers' grades into the course gradebook with nbgrader's own autograde (no execution)."""
    staged = folders[0].parent / "_executed"
    staged.mkdir()
    for student in students:
        graded = next(f / "autograded" / student for f in folders if (f / "autograded" / student).exists())
        (staged / student).symlink_to(graded)
    result = subprocess.run(["nbgrader", "autograde", course.ASSIGNMENT, "--force",
                             f"--CourseDirectory.submitted_directory={staged}", *MERGE_FLAGS],
                            cwd=main, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"writing the grades into {main / 'gradebook.db'} failed:\n{result.stdout}\n{result.stderr}")


def autograde_parallel(main=course.ROOT, students=None, workers=None, timeout=None, quiet=False):
    """Grade `students` (default: everyone in submitted/) of the course in `main`; return {student: error} for
    the failures."""
    main = Path(main).resolve()
    timeout = timeout or course.student_timeout()
    students = sorted(students or (p.name for p in (main / "submitted").iterdir() if p.is_dir()))
    workers = max(1, min(workers or os.cpu_count() or 1, len(students)))
    if not (main / "gradebook.db").exists():
        sys.exit(f"no gradebook.db: run `nbgrader generate_assignment {course.ASSIGNMENT} --force` first")
    if course.sandbox_on() and shutil.which("bwrap") is None:
        sys.exit(course.SANDBOX_MISSING)
    failures, todo = {}, queue.Queue()
    for student in students:
        todo.put(student)
    with tempfile.TemporaryDirectory(prefix="autograde-") as tmp:
        folders = [private_course(main, Path(tmp) / f"worker{i}", students) for i in range(workers)]
        pool = [Worker(folder, worker_env()) for folder in folders]
        bar = tqdm(total=len(students), desc=f"autograde ({workers} workers)", unit="student", disable=quiet)
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
                    bar.set_postfix_str(f"{student} {answer['seconds']:.0f} s" + (" FAILED" if answer["error"] else ""))
                    bar.update()

        threads = [threading.Thread(target=run, args=(w,)) for w in pool]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bar.close()
        graded = [s for s in students if s not in failures]
        if graded:  # the merge also writes the executed notebooks to autograded/, as the serial run does
            merge(main, folders, graded)
    return failures


def main():
    if sys.argv[1:2] == ["--serve"]:
        return serve(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=str(course.ROOT))
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel workers (default: cores)")
    parser.add_argument("--student", nargs="*", help="only these students (default: all in submitted/)")
    parser.add_argument("--timeout", type=float, default=course.student_timeout(),
                        help="seconds for one student before its worker is replaced")
    args = parser.parse_args()
    start = time.time()
    failures = autograde_parallel(args.course, args.student, args.workers, args.timeout)
    print(f"done in {time.time() - start:.1f} s")
    if failures:
        print("NOT GRADED -- review these submissions by hand:")
        for student, error in sorted(failures.items()):
            print(f"  {student}: {error}")
        sys.exit(2)


if __name__ == "__main__":
    main()
