"""The class while it grades, and after: per shard and for the whole class, how many students are graded, held for
review, failed or still waiting, what each shard's run is doing, and the exact line that runs again what is missing.
The same for Slurm array tasks, Kubernetes pods and local runs of tools/autograde_parallel.py: it reads the
gradebook (course.py: db_url), each run's record in autograde_logs/shards/ (tools/shard_records.py) and, for Slurm,
what squeue says of those jobs.

    python tools/class_status.py [--course .]

- graded: the gradebook holds a score for every autograded cell and autograded/ holds the notebook;
- held for review: graded, with points held until a TA reads the code (the integrity report's "waiting for your
  review": unreadable code, grading stopped);
- failed: the last run of the student's shard could not grade them (NOT GRADED, with its log);
- waiting: none of these yet (its shard is pending or running, or stopped before it came to them).
Each student is in exactly one of the four: they add up to the class. A failed or waiting student whose file is no
notebook is named with the reason (grading/notebook_repair.py: "not a notebook: the file is empty", ...).
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import os
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import course
from grading.notebook_repair import NOT_A_NOTEBOOK, read_submitted, why_not_graded
from tools import integrity_report, shard_records
from tools.shards import shard_of

SLURM_STOPPED = {"CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
                 "COMPLETED"}  # a task whose record still says running, in one of these states, has stopped
SLURM_SCRIPT = "deploy/slurm/autograde.sbatch"
SHOWN = 20  # students named per kind (held, waiting, failed); the counts are always whole


# ---------------------------------------------------------------- what the gradebook and the files say
def graded_students(folder):
    """student -> the time its autograded notebook was written, for every student with a score in every autograded
    cell of the gradebook and a notebook in autograded/."""
    url = course.db_url(folder)
    if course.is_sqlite(url) and not (Path(folder) / "gradebook.db").exists():
        raise SystemExit(f"no gradebook.db in {folder}: run `nbgrader generate_assignment {course.ASSIGNMENT} --force` "
                         f"first (or set {course.DB_URL_VARIABLE})")
    found = {}
    with course.gradebook(folder) as gb:
        for submission in gb.assignment_submissions(course.ASSIGNMENT):
            grades = [g for nb in submission.notebooks for g in nb.grades if g.cell_type == "code"]
            notebook = course.autograded_nb(folder, submission.student_id)
            if grades and all(g.auto_score is not None for g in grades) and notebook.exists():
                found[submission.student_id] = notebook.stat().st_mtime
    return found


def held_for_review(folder, students):
    """Of `students` (graded), those whose points wait for a TA's review (the integrity report's reading): student ->
    what holds them."""
    release = course.read(course.release_nb(folder))
    held = {}
    for student in students:
        try:
            findings = integrity_report.check_submission(read_submitted(course.submitted_nb(folder, student)), release,
                                                         course.read(course.autograded_nb(folder, student)))
        except (OSError, ValueError):  # replaced while we read it: counted as graded, not held
            continue
        if integrity_report.waits_for_review(findings):
            why = ": ".join(integrity_report.in_order({student: findings})[student][0])
            held[student] = why if len(why) <= 160 else why[:157] + "..."
    return held


def slurm_states(records):
    """(array job, task) and job id -> state, from squeue, for the jobs the records name (a job squeue no longer
    knows is left out); None without squeue, or when it cannot answer."""
    jobs = sorted({r["scheduler"].get("array_job") or r["scheduler"].get("job") for r in records
                   if r["scheduler"]["kind"] == "slurm"} - {None})
    if not jobs or shutil.which("squeue") is None:
        return None
    states = {}
    for job in jobs:  # one at a time: squeue refuses the whole list for one job it has forgotten
        result = subprocess.run(["squeue", "-h", "-r", "-t", "all", "-j", job, "-o", "%F %K %i %T"],
                                capture_output=True, text=True)
        if result.returncode != 0 and "Invalid job id" not in result.stderr:
            return None
        for line in result.stdout.split("\n") if result.returncode == 0 else ():
            if line.strip():
                array_job, task, job_id, state = line.split()
                states[(array_job, task)] = states[job_id] = state
    return states


# ---------------------------------------------------------------- the state of the class
def run_state(record, slurm):
    """The state of one shard's run: running, done, failed, stopped (why), no record."""
    if record is None:
        return "no record"
    if record["state"] == "done":
        return "failed" if record["failed"] else "done"
    where = record["scheduler"]
    if where["kind"] == "slurm" and slurm is not None:
        state = slurm.get((where.get("array_job"), where.get("task"))) or slurm.get(where.get("job"))
        if state in SLURM_STOPPED:
            return f"stopped ({state})"
        if state is None:
            return "stopped (gone from squeue)" if record["state"] == "running" else f"stopped ({record.get('signal')})"
    if record["state"] == "stopped":
        return f"stopped ({record.get('signal')})"
    if where["kind"] == "local" and record["host"] == socket.gethostname() and not pid_alive(record["pid"]):
        return "stopped (process gone)"
    return "running"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def class_state(students, records, graded, held, slurm=None):
    """The class by shard: {"shards": N, "rows": [one dict per shard], "students": {student: (shard, status)}}.
    `records` are the runs' records (the latest per shard counts; only those of the latest run's shard count),
    `graded` student -> when its autograded notebook was written, `held` the graded ones held for review (-> why),
    `slurm` what squeue says (slurm_states) or None."""
    count = max(records, key=lambda r: r["started"])["shards"] if records else 1
    latest = {}
    for r in sorted((r for r in records if r["shards"] == count), key=lambda r: r["started"]):
        latest[r["shard"]] = r
    pending = {}  # Slurm tasks not started yet have no record: squeue knows them
    arrays = {r["scheduler"].get("array_job") for r in latest.values() if r["scheduler"]["kind"] == "slurm"}
    for key, state in (slurm or {}).items():
        if isinstance(key, tuple) and key[0] in arrays and key[1].isdigit():
            pending.setdefault(int(key[1]), state)
    rows, status = [], {}
    for index in range(count):
        record = latest.get(index)
        state = run_state(record, slurm)
        if record is None and index in pending:
            state = "pending" if pending[index] == "PENDING" else (
                "running" if pending[index] == "RUNNING" else f"stopped ({pending[index]})")
        mine = [s for s in students if shard_of(s, count) == index]
        for s in mine:
            failed = record is not None and s in record["failed"] and not graded.get(s, 0) > record["updated"]
            status[s] = (index, "failed" if failed else "held" if s in graded and s in held
                         else "graded" if s in graded else "waiting")
        counts = {k: sum(status[s][1] == k for s in mine) for k in ("graded", "held", "failed", "waiting")}
        rows.append({"shard": index, "state": state, "students": len(mine), **counts, "record": record})
    return {"shards": count, "rows": rows, "students": status, "held": held}


# ---------------------------------------------------------------- what to run again
def rerun_lines(state, folder):
    """The lines that grade what is missing: the shards with students still waiting whose run is not pending or
    running, each the way it ran (an sbatch --array line for Slurm, the command for a local run or a pod)."""
    todo = [r for r in state["rows"] if r["waiting"] and not r["state"].startswith(("running", "pending"))]
    return commands(todo, state, folder, "waiting")


def regrade_lines(state, folder):
    """The lines that grade the failed students again (once their submission is fixed, or to retry)."""
    return commands([r for r in state["rows"] if r["failed"]], state, folder, "failed")


def commands(rows, state, folder, kind):
    count, lines, slurm = state["shards"], [], {}
    known = [r["record"] for r in state["rows"] if r["record"]]
    for row in rows:
        record = row["record"] or next((r for r in known if r["scheduler"]["kind"] == "slurm"), None)
        where = record["scheduler"] if record else {"kind": "local"}
        if where["kind"] == "slurm":
            options = [f"--chdir={folder}"]  # the job's working folder: the course, wherever sbatch runs
            options += [f"--{name}={where[key]}{unit}" for name, key, unit in (
                ("partition", "partition", ""), ("cpus-per-task", "cpus_per_task", ""),
                ("mem-per-cpu", "mem_per_cpu", "M")) if where.get(key)]
            slurm.setdefault(tuple(options), []).append(str(row["shard"]))
        elif count == 1:  # the whole class in one run: its waiting students, by name
            names = sorted(s for s, (_, st) in state["students"].items() if st == kind)
            lines.append(shlex.join(["python", "tools/autograde_parallel.py", "--course", str(folder), "--student",
                                     *names]))
        else:
            lines.append(shlex.join(["python", "tools/autograde_parallel.py", "--course", str(folder), "--shard",
                                     f"{row['shard']}/{count}"]))
    for options, shards in slurm.items():
        lines.insert(0, shlex.join(["sbatch", f"--array={','.join(shards)}", *options, str(Path(folder) / SLURM_SCRIPT)]))
    return lines


# ---------------------------------------------------------------- the report
def run_label(record, now):
    if record is None:
        return ""
    where = record["scheduler"]
    label = {"slurm": f"slurm job {where.get('array_job', where.get('job'))}_{where.get('task', '')}".rstrip("_"),
             "kubernetes": f"pod {where.get('pod')}", "local": f"pid {record['pid']}"}[where["kind"]]
    return f"{label} on {record['host']}, news {max(0, now - record['updated']):.0f} s ago"


def as_text(state, folder, now=None):
    now = now or time.time()
    rows, status = state["rows"], state["students"]
    total = {k: sum(r[k] for r in rows) for k in ("students", "graded", "held", "failed", "waiting")}
    lines = [f"{course.ASSIGNMENT}: {total['students']} students, {state['shards']} shard(s); "
             f"gradebook {course.shown_url(course.db_url(folder))}",
             f"{'shard':>5s}  {'state':28s} {'students':>8s} {'graded':>6s} {'held':>5s} {'failed':>6s} "
             f"{'waiting':>7s}  run"]
    for r in rows:
        lines.append(f"{r['shard']:5d}  {r['state']:28s} {r['students']:8d} {r['graded']:6d} {r['held']:5d} "
                     f"{r['failed']:6d} {r['waiting']:7d}  {run_label(r['record'], now)}")
    lines.append(f"{'class':>5s}  {'':28s} {total['students']:8d} {total['graded']:6d} {total['held']:5d} "
                 f"{total['failed']:6d} {total['waiting']:7d}")
    for kind, title in (("held", "held for review (integrity_report.md; give the points back in the Formgrader)"),
                        ("waiting", "waiting"), ("failed", "NOT GRADED (fix the submission or grade it by hand)")):
        names = sorted(s for s, (_, st) in status.items() if st == kind)
        if names:
            lines.append(f"{title}: {len(names)}")
            for s in names[:SHOWN]:
                row = rows[status[s][0]]
                why = row["record"]["failed"][s] if kind == "failed" else state["held"][s] if kind == "held" \
                    else row["state"]
                if s in state.get("not_notebooks", {}):
                    why = f"{NOT_A_NOTEBOOK}: {state['not_notebooks'][s]}"
                lines.append(f"  {s} (shard {status[s][0]}): {why}")
            if len(names) > SHOWN:
                lines.append(f"  ... and {len(names) - SHOWN} more")
    rerun, regrade = rerun_lines(state, folder), regrade_lines(state, folder)
    if rerun:
        lines.append("grade what is missing:")
        lines += [f"  {line}" for line in rerun]
    if regrade:
        lines.append("grade the failed students again (their shards):")
        lines += [f"  {line}" for line in regrade]
    if not rerun and not regrade and not total["waiting"]:
        lines.append("every student is graded")
    return "\n".join(lines) + "\n"


def status(folder):
    folder = Path(folder).resolve()
    students = sorted(p.name for p in (folder / "submitted").iterdir() if p.is_dir())
    records = shard_records.read_all(folder)
    graded = graded_students(folder)
    held = held_for_review(folder, [s for s in graded if s in students])
    state = class_state(students, records, graded, held, slurm_states(records))
    state["not_notebooks"] = not_notebooks(folder, [s for s, (_, st) in state["students"].items()
                                                    if st in ("failed", "waiting")])
    return state


def not_notebooks(folder, students):
    """Of `students` (not graded), those whose submitted file is no notebook: student -> why, in the TA's words."""
    reasons = {s: why_not_graded(course.submitted_nb(folder, s)) for s in students}
    return {s: why for s, why in reasons.items() if why}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    folder = Path(parser.parse_args().course).resolve()
    print(as_text(status(folder), folder), end="")


if __name__ == "__main__":
    main()
