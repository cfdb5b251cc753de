"""tools/class_status.py without a cluster (the fast tier): the class by shard from the runs' records
(tools/shard_records.py, written by real processes here) and what a scheduler says, the same table for Slurm,
Kubernetes and local runs, and the line that runs again what is missing. tests/test_slurm.py runs it on a real
Slurm array and gradebook."""
import json
import signal
import subprocess
import sys
import time

import course
from tools import class_status, shard_records
from tools.shards import shard_of

STUDENTS = [f"2026{i:04d}" for i in range(30)]


def of(index, count):
    return [s for s in STUDENTS if shard_of(s, count) == index]


def record(index, count, scheduler, graded=(), failed=None, state="done", pid=None, started=None):
    return {"shard": index, "shards": count, "students": of(index, count), "graded": list(graded),
            "failed": dict(failed or {}), "state": state, "started": started or time.time() - 60,
            "updated": time.time() - 30, "host": "vm", "pid": pid or 1, "scheduler": scheduler}


def slurm(task, **extra):
    return {"kind": "slurm", "job": f"4{task}", "array_job": "40", "task": str(task), "partition": "short",
            "cpus_per_task": "4", "mem_per_cpu": "3072", "submit_dir": "/courses/lab2", **extra}


def test_a_slurm_array_by_shard_with_the_rerun_line():
    """shard 0 done, 1 cancelled midway, 2 failed one student, 3 still pending (no record yet)."""
    s0, s1, s2 = of(0, 4), of(1, 4), of(2, 4)
    records = [record(0, 4, slurm(0), graded=s0),
               record(1, 4, slurm(1), graded=s1[:1], state="running"),
               record(2, 4, slurm(2), graded=s2[1:], failed={s2[0]: "nbgrader autograde failed (log: x.log)"})]
    graded = {s: time.time() - 40 for s in s0 + s1[:1] + s2[1:]}
    held = {s0[0]: "unreadable code: needs review"}
    squeue = {("40", "1"): "CANCELLED", "41": "CANCELLED", ("40", "3"): "PENDING"}
    state = class_status.class_state(STUDENTS, records, graded, held, squeue)
    rows = {r["shard"]: r for r in state["rows"]}
    assert [rows[i]["state"] for i in range(4)] == ["done", "stopped (CANCELLED)", "failed", "pending"]
    assert (rows[0]["graded"], rows[0]["held"]) == (len(s0) - 1, 1)
    assert (rows[1]["graded"], rows[1]["waiting"]) == (1, len(s1) - 1)
    assert (rows[2]["failed"], rows[2]["graded"]) == (1, len(s2) - 1)
    assert rows[3]["waiting"] == len(of(3, 4))  # pending: waiting, and nothing to rerun for it
    options = "--chdir=/courses/lab2 --partition=short --cpus-per-task=4 --mem-per-cpu=3072M"
    assert class_status.rerun_lines(state, "/courses/lab2") == [
        f"sbatch --array=1 {options} /courses/lab2/deploy/slurm/autograde.sbatch"]
    assert class_status.regrade_lines(state, "/courses/lab2") == [
        f"sbatch --array=2 {options} /courses/lab2/deploy/slurm/autograde.sbatch"]
    text = class_status.as_text(state, "/courses/lab2")
    total = len(s0) + 1 + len(s2) - 1 - 1
    assert f"class  {'':28s} {len(STUDENTS):8d} {total:6d} {1:5d} {1:6d} {len(s1) - 1 + len(of(3, 4)):7d}" in text, text
    assert f"  {s2[0]} (shard 2): nbgrader autograde failed (log: x.log)" in text
    assert f"  {s0[0]} (shard 0): unreadable code: needs review" in text


def test_a_local_run_and_a_pod_show_the_same_table(tmp_path):
    """A local shard whose process is gone (killed) is stopped; a Kubernetes pod's failed student; the reruns are
    tools/autograde_parallel.py lines."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    records = [record(0, 2, {"kind": "local"}, graded=of(0, 2)[:2], state="running", pid=dead.pid),
               record(1, 2, {"kind": "kubernetes", "pod": "lab2-autograde-1-x7k"}, graded=of(1, 2)[1:],
                      failed={of(1, 2)[0]: "the grading worker gave no result within 900 s"})]
    records[0]["host"] = records[1]["host"] = class_status.socket.gethostname()
    graded = {s: time.time() - 40 for s in of(0, 2)[:2] + of(1, 2)[1:]}
    state = class_status.class_state(STUDENTS, records, graded, {})
    assert [r["state"] for r in state["rows"]] == ["stopped (process gone)", "failed"]
    assert class_status.rerun_lines(state, tmp_path) == [
        f"python tools/autograde_parallel.py --course {tmp_path} --shard 0/2"]
    assert class_status.regrade_lines(state, tmp_path) == [
        f"python tools/autograde_parallel.py --course {tmp_path} --shard 1/2"]
    text = class_status.as_text(state, tmp_path)
    assert "pod lab2-autograde-1-x7k on" in text and f"pid {dead.pid} on" in text
    header = [line for line in text.splitlines() if line.startswith("shard")]
    assert header == [f"{'shard':>5s}  {'state':28s} {'students':>8s} {'graded':>6s} {'held':>5s} {'failed':>6s} "
                      f"{'waiting':>7s}  run"]


def test_the_whole_class_in_one_run_reruns_its_waiting_students_by_name(tmp_path):
    records = [record(0, 1, {"kind": "local"}, graded=STUDENTS[:10], state="stopped")]
    records[0]["signal"] = "SIGTERM"
    state = class_status.class_state(STUDENTS, records, {s: time.time() for s in STUDENTS[:10]}, {})
    assert state["rows"][0]["state"] == "stopped (SIGTERM)" and state["rows"][0]["waiting"] == 20
    assert class_status.rerun_lines(state, tmp_path) == [
        f"python tools/autograde_parallel.py --course {tmp_path} --student {' '.join(STUDENTS[10:])}"]
    assert "... and 0 more" not in class_status.as_text(state, tmp_path)


def test_a_student_graded_again_after_a_failure_is_graded():
    failed = {STUDENTS[0]: "nbgrader autograde failed"}
    records = [record(0, 1, {"kind": "local"}, failed=failed)]
    assert class_status.class_state(STUDENTS, records, {}, {})["students"][STUDENTS[0]] == (0, "failed")
    later = {STUDENTS[0]: time.time()}  # its notebook written after the run's last news (a --student rerun)
    assert class_status.class_state(STUDENTS, records, later, {})["students"][STUDENTS[0]] == (0, "graded")


def test_a_record_is_kept_by_a_real_process_and_says_when_it_was_stopped(tmp_path):
    """Record() in a process of its own: its students, one graded, then SIGTERM (scancel, kubectl delete): the
    record says stopped, by SIGTERM, and the process still ends as SIGTERM ends it."""
    code = ("import sys, time; from tools.shard_records import Record\n"
            f"r = Record({str(tmp_path)!r}, (1, 3), ['a', 'b'], env={{'SLURM_JOB_ID': '7', 'SLURM_ARRAY_JOB_ID': '6', "
            "'SLURM_ARRAY_TASK_ID': '1', 'SLURM_CPUS_PER_TASK': '2'})\n"
            "r.graded('a'); print('ready', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=course.ROOT)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    [kept] = shard_records.read_all(tmp_path)
    assert (kept["shard"], kept["shards"], kept["students"], kept["graded"]) == (1, 3, ["a", "b"], ["a"])
    assert kept["state"] == "stopped" and kept["signal"] == "SIGTERM"
    assert kept["scheduler"] == {"kind": "slurm", "job": "7", "array_job": "6", "task": "1", "cpus_per_task": "2"}
    assert json.loads((tmp_path / "autograde_logs" / "shards" / "shard-1-of-3.json").read_text()) == kept
