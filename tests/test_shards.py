"""Shards of the class (tools/shards.py), without a database: which students a shard grades, where its index comes
from (--shard I/N, a Slurm array, a Kubernetes Indexed Job) and its count (declared once: --shards), and the deploy/
files that run it. The grading itself, with a real PostgreSQL server, is in tests/test_postgres.py, and on a real
Slurm with Slurm's own array variables in tests/test_slurm.py (both slow)."""
import re
import subprocess
import sys

import pytest
import yaml

import course
from tools.shards import shard_of, which_shard

STUDENTS = [f"2021{i:04d}" for i in range(200)] + ["sample_complete", "zhang.san", "学生"]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_student_is_in_exactly_one_shard_whatever_else_is_there(count):
    shards = [[s for s in STUDENTS if shard_of(s, count) == i] for i in range(count)]
    assert sorted(s for shard in shards for s in shard) == sorted(STUDENTS)
    assert all(len(shard) > len(STUDENTS) / count / 2 for shard in shards), [len(s) for s in shards]
    # a shard's students do not depend on the rest of the class (a rerun after a late submission grades the same)
    assert [s for s in STUDENTS[:10] if shard_of(s, count) == 0] == [s for s in shards[0] if s in STUDENTS[:10]]


def test_the_index_comes_from_the_flag_or_a_job_array():
    assert which_shard("1/3", env={}) == (1, 3, "--shard")
    assert which_shard(None, env={}) is None
    rerun = {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_COUNT": "1"}  # --array=5
    assert which_shard(None, 10, env=rerun) == (5, 10, "SLURM_ARRAY_TASK_ID")  # shard 5 of 10, not 0 of 1
    assert which_shard("0/2", env=rerun) == (0, 2, "--shard")  # the flag wins
    assert which_shard(None, 4, env={"JOB_COMPLETION_INDEX": "3"}) == (3, 4, "JOB_COMPLETION_INDEX")


@pytest.mark.parametrize("shard, shards, env, message", [
    ("3/3", None, {}, "counts from 0 to 2"),
    ("one of three", None, {}, "expected I/N"),
    (None, None, {"JOB_COMPLETION_INDEX": "0"}, "pass the Job's completions as --shards N"),
    (None, 4, {}, "needs the index from a job array"),
    (None, None, {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "1"}, "pass the number of shards as --shards N"),
    (None, 10, {"SLURM_ARRAY_TASK_ID": "10"}, "there is no such shard, the index counts from 0 to 9; sbatch --array"),
    (None, 3, {"JOB_COMPLETION_INDEX": "3"}, "the Job's completions must equal --shards"),
])
def test_a_bad_shard_stops_with_a_message(shard, shards, env, message):
    with pytest.raises(SystemExit, match=re.escape(message)):
        which_shard(shard, shards, env=env)


def test_shards_refuse_a_sqlite_gradebook(tmp_path):
    (tmp_path / "submitted" / "a").mkdir(parents=True)
    env = {k: v for k, v in __import__("os").environ.items() if k != course.DB_URL_VARIABLE}
    result = subprocess.run([sys.executable, str(course.ROOT / "tools" / "autograde_parallel.py"), "--shard", "0/2"],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "LAB2_DB_URL" in result.stderr and "SQLite is for one writer" in result.stderr


def test_the_deploy_files_run_the_command_of_the_readme():
    job = yaml.safe_load((course.ROOT / "deploy" / "kubernetes" / "autograde-job.yaml").read_text())
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    assert spec["completionMode"] == "Indexed" and command[:2] == ["python", "tools/autograde_parallel.py"]
    assert int(command[command.index("--shards") + 1]) == spec["completions"] == spec["parallelism"]
    assert spec["podReplacementPolicy"] == "Failed"  # never two pods, so two writers, for one shard
    security = pod["containers"][0]["securityContext"]
    assert pod["hostUsers"] is False and security["procMount"] == "Unmasked" and "SETFCAP" in security["capabilities"]["add"]
    assert [e["name"] for e in pod["containers"][0]["env"]] == [course.DB_URL_VARIABLE]
    script = (course.ROOT / "deploy" / "slurm" / "autograde.sbatch").read_text()
    last = script.rstrip().splitlines()[-1]
    assert last.startswith("exec python tools/autograde_parallel.py") and last.endswith('"$@"')
    # the shard count is the script's --shards; its default array is every shard, 0 .. N-1
    shards = int(re.search(r"--shards (\d+)", last).group(1))
    assert re.search(r"^#SBATCH --array=(\S+)", script, re.M).group(1) == f"0-{shards - 1}"


def test_the_slurm_script_says_when_it_has_no_python(tmp_path):
    """Submitted from a course without .venv, with no python that has the course on PATH: it says what to do."""
    result = subprocess.run(["bash", str(course.ROOT / "deploy" / "slurm" / "autograde.sbatch")], cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True)
    assert result.returncode == 1 and "no Python with the course installed" in result.stderr, result.stderr
    assert "source tools/env.sh" in result.stderr
