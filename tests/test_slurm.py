"""The Slurm job array for real: a one-node Slurm cluster from Debian's slurmctld, slurmd and munge
(tools/scratch_slurm.py: 127.0.0.1, slurm.conf in a temporary folder, the daemons stopped by their pids) runs the
project's own deploy/slurm/autograde.sbatch, unchanged, with overrides only on the sbatch command line, against a
real PostgreSQL gradebook (tools/scratch_postgres.py, as in tests/test_postgres.py).

- every --array form grades exactly the shards it names, with Slurm's own array variables: --array=3 (a rerun),
  3,7, 0-9:3, 1-10%2 (its task 10 is no shard and stops with a message); as the script stands (8 CPUs a task) this
  2-core node refuses it, and says so;
- the sample class, a broken upload and a submission held for review graded as the array: one task is cancelled
  midway with scancel; tools/class_status.py shows the class and prints the rerun line, which grades that shard
  only (nobody else regraded, no duplicate rows); the rows then equal serial `nbgrader autograde`'s; the task with
  the broken upload ends FAILED and names that student NOT GRADED.
"""
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import course as lab
from corpus import corpus
import test_postgres
from test_postgres import course_rows, pg_course, rows
from tools import submissions
from tools.scratch_slurm import ScratchSlurm
from tools.shards import shard_of

pytestmark = pytest.mark.slow  # a Slurm cluster, a database server, autograde of the sample class

SCRIPT = "deploy/slurm/autograde.sbatch"
SHARDS = int(re.search(r"--shards (\d+)", (lab.ROOT / SCRIPT).read_text()).group(1))  # declared once, in the script
OVERRIDES = ["--cpus-per-task=1"]  # this node has 2 cores: two tasks at a time, one worker each
BROKEN, HELD = "unreadable", "held"  # an upload that is not a notebook; code the grader cannot read (shard 3 both)
CANCELLED = 5  # the shard whose task is cancelled midway: sample_partial, then sample_untouched
VENV_BIN = str(Path(sys.executable).parent)
pg = test_postgres.pg  # the throwaway PostgreSQL server (a fixture)


@pytest.fixture(scope="module")
def slurm():
    start = time.time()
    with ScratchSlurm() as cluster:
        print(f"\nSlurm up in {time.time() - start:.1f} s")
        yield cluster


def sbatch(slurm, folder, env, *args):
    return slurm.sbatch(folder, env, *args)


def wait(slurm, job, timeout=600):
    if not slurm.wait(job, timeout):
        pytest.fail(f"job {job} still running after {timeout} s:\n{slurm.logs()}")


def outputs(folder, job):
    """array task -> what it printed (slurm-<job>_<task>.out in the folder it was submitted from)."""
    return {int(p.stem.rsplit("_", 1)[1]): p.read_text() for p in Path(folder).glob(f"slurm-{job}_*.out")}


def states(slurm, job):
    """array task -> its final state, as slurmctld recorded it (jobcomp/filetxt)."""
    return {int(j["ArrayTaskId"]): j["JobState"] for j in slurm.jobs() if j.get("ArrayJobId") == job}


# ---------------------------------------------------------------- which shards an --array grades
ARRAYS = {"3": [3], "3,7": [3, 7], "0-9:3": [0, 3, 6, 9], "1-10%2": list(range(1, 11))}


def test_every_array_form_grades_the_shards_it_names(slurm, tmp_path):
    """The script unchanged, its arguments --list (each task prints its shard's students and grades none), on a
    class of 40 empty submission folders; the array index is the shard, whatever Slurm's count says."""
    (tmp_path / "tools").symlink_to(lab.ROOT / "tools")
    (tmp_path / "deploy").symlink_to(lab.ROOT / "deploy")
    students = [f"2026{i:04d}" for i in range(40)]
    for s in students:
        (tmp_path / "submitted" / s).mkdir(parents=True)
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    refused = subprocess.run(["sbatch", SCRIPT], cwd=tmp_path, env=slurm.env(env), capture_output=True, text=True)
    assert refused.returncode != 0 and "Batch job submission failed" in refused.stderr, \
        "8 CPUs a task on a 2-core node: sbatch refuses, which is why the README says to override --cpus-per-task"
    jobs = {form: sbatch(slurm, tmp_path, env, f"--array={form}", *OVERRIDES, SCRIPT, "--list") for form in ARRAYS}
    for form, job in jobs.items():
        wait(slurm, job)
        printed = outputs(tmp_path, job)
        assert sorted(printed) == ARRAYS[form], (form, printed)
        for task, out in printed.items():
            if task >= SHARDS:  # --array=1-10 names a shard the script does not have
                assert f"shard {task} of {SHARDS} (SLURM_ARRAY_TASK_ID): there is no such shard" in out, out
                assert states(slurm, job)[task] == "FAILED"
                continue
            mine = [s for s in students if shard_of(s, SHARDS) == task]
            assert f"shard {task}/{SHARDS} (from SLURM_ARRAY_TASK_ID): {len(mine)} students: {' '.join(mine)}" in out, \
                (form, task, out)
        print(f"--array={form}: shards {sorted(t for t in printed if t < SHARDS)}")


# ---------------------------------------------------------------- the class, as an array, a task cancelled, rerun
def held_submission(folder):
    """The complete sample whose MyTanh hides its code in base64 (tests/corpus/exec_decoded.py): its tests wait for review."""
    variant = next(v for v in corpus(lab.read(lab.source_nb(folder))) if v.name == "tanh_exec_base64")
    answers = dict(submissions.samples(lab.read(lab.source_nb(folder)))["sample_complete"][0], **variant.answers)
    return submissions.fill(lab.read(lab.release_nb(folder)), answers)


def class_status(folder, env, slurm):
    result = subprocess.run([sys.executable, str(lab.ROOT / "tools" / "class_status.py")], cwd=folder,
                            env=slurm.env(env), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    return result.stdout


def autograded_times(folder):
    return {p.parts[-3]: p.stat().st_mtime_ns for p in Path(folder).glob(f"autograded/*/{lab.ASSIGNMENT}/*.ipynb")}


def record(folder, shard):
    return json.loads((Path(folder) / "autograde_logs" / "shards" / f"shard-{shard}-of-{SHARDS}.json").read_text())


@pytest.fixture(scope="module")
def array_run(slurm, pg, tmp_path_factory, mnist_dir):
    url = pg.create_database("lab2_slurm")
    folder = tmp_path_factory.mktemp("slurm_course")
    env = pg_course(folder, mnist_dir, url)
    env["PATH"] = f"{VENV_BIN}:{env['PATH']}"  # the course has no .venv: the script takes the python on PATH
    broken = lab.submitted_nb(folder, BROKEN)
    broken.parent.mkdir(parents=True)
    broken.write_text("{ not a notebook", encoding="utf-8")
    submissions.write_submission(folder, HELD, held_submission(folder))
    mine = sorted(p.name for p in (folder / "submitted").iterdir() if shard_of(p.name, SHARDS) == CANCELLED)
    assert len(mine) == 2, mine
    start = time.time()
    job = sbatch(slurm, folder, env, *OVERRIDES, SCRIPT)  # the script's own --array=0-9
    shard_record = folder / "autograde_logs" / "shards" / f"shard-{CANCELLED}-of-{SHARDS}.json"
    while time.time() < start + 600:  # midway: its first student graded, the second one under way
        if shard_record.exists() and len(record(folder, CANCELLED)["graded"]) == 1:
            break
        time.sleep(0.1)
    cancelled_at = time.time()
    subprocess.run(["scancel", f"{job}_{CANCELLED}"], env=slurm.env(), check=True)
    wait(slurm, job)
    first = {"seconds": time.time() - start, "outputs": outputs(folder, job), "states": states(slurm, job),
             "record": record(folder, CANCELLED), "times": autograded_times(folder),
             "status": class_status(folder, env, slurm), "cancelled_after": cancelled_at - start}
    rerun = re.search(r"^grade what is missing:\n  (.*)$", first["status"], re.M)
    assert rerun, first["status"]
    start = time.time()
    line = shlex.split(rerun.group(1))
    again = sbatch(slurm, folder.parent, env, *line[1:])  # from another folder: the line says where the course is
    wait(slurm, again)
    second = {"seconds": time.time() - start, "line": line, "outputs": outputs(folder, again),
              "states": states(slurm, again), "record": record(folder, CANCELLED), "times": autograded_times(folder),
              "status": class_status(folder, env, slurm)}
    print(f"\nthe array: {first['seconds']:.1f} s (task {CANCELLED} cancelled after {first['cancelled_after']:.1f} s); "
          f"the rerun of shard {CANCELLED}: {second['seconds']:.1f} s")
    return folder, url, mine, first, second


def test_the_array_and_its_rerun_write_the_rows_of_serial_autograde(array_run, pg, course, graded_samples):
    folder, url, _, _, _ = array_run
    graded = [r for r in rows(url, folder) if r[0] not in (BROKEN, HELD)]
    assert graded and graded == course_rows(course), "the Slurm array's gradebook differs from serial nbgrader autograde"
    print(f"rows compared with serial nbgrader autograde: {len(graded)}, equal")
    (submitted, distinct), = pg.execute("SELECT count(*), count(DISTINCT student_id) FROM submitted_assignment",
                                        database=make_url(url).database)[0]
    (grades, cells), = pg.execute("SELECT count(*), count(DISTINCT (notebook_id, cell_id)) FROM grade",
                                  database=make_url(url).database)[0]
    assert submitted == distinct and grades == cells, "duplicate rows"


def test_a_cancelled_task_run_again_grades_its_shard_only(array_run):
    folder, _, mine, first, second = array_run
    assert first["states"][CANCELLED] == "CANCELLED" and first["record"]["graded"] == mine[:1], first["record"]
    assert mine[1] not in first["times"], "the cancelled task finished its second student"
    assert second["line"][1] == f"--array={CANCELLED}" and second["line"][-1].endswith(SCRIPT), second["line"]
    assert second["states"] == {CANCELLED: "COMPLETED"}
    assert f"shard {CANCELLED}/{SHARDS} (from SLURM_ARRAY_TASK_ID)" in second["outputs"][CANCELLED]
    assert second["record"]["graded"] == mine and second["record"]["state"] == "done"
    others = {s: t for s, t in first["times"].items() if s not in mine}
    assert others and {s: second["times"][s] for s in others} == others, "the rerun regraded another shard's student"
    assert all(second["times"][s] > first["times"].get(s, 0) for s in mine)


def test_a_broken_upload_fails_its_task_and_is_named_not_graded(array_run):
    folder, _, _, first, _ = array_run
    broken = shard_of(BROKEN, SHARDS)
    assert first["states"][broken] == "FAILED", first["states"]
    assert f"NOT GRADED -- review these submissions by hand:\n  {BROKEN}: " in first["outputs"][broken]
    assert HELD in first["times"], "the other student of the failed task was graded"
    for task, state in first["states"].items():
        assert state == {broken: "FAILED", CANCELLED: "CANCELLED"}.get(task, "COMPLETED"), (task, first["outputs"][task])


def test_class_status_shows_each_shard_and_the_rerun_line(array_run):
    folder, _, mine, first, second = array_run
    table = {int(m[0]): m[1:] for m in re.findall(r"^\s+(\d+)  (.{28}) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)", first["status"],
                                                  re.M)}
    assert sorted(table) == list(range(SHARDS))
    assert table[CANCELLED][0].strip() == "stopped (CANCELLED)" and table[CANCELLED][1:] == ("2", "1", "0", "0", "1")
    assert table[shard_of(BROKEN, SHARDS)][0].strip() == "failed"
    assert table[shard_of(BROKEN, SHARDS)][1:] == ("2", "0", "1", "1", "0")  # the held one is graded, held for review
    assert re.search(r"^class +6 +3 +1 +1 +1$", first["status"], re.M), first["status"]
    assert f"  {mine[1]} (shard {CANCELLED}): stopped (CANCELLED)" in first["status"]
    assert f"  {BROKEN} (shard {shard_of(BROKEN, SHARDS)}): " in first["status"]
    assert re.search(rf"^  {HELD} \(shard", first["status"], re.M)
    assert re.search(r"^class +6 +4 +1 +1 +0$", second["status"], re.M), second["status"]
    assert "grade what is missing" not in second["status"]
    assert f"--array={shard_of(BROKEN, SHARDS)} " in second["status"]  # the failed one's shard, to grade again
