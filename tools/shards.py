"""Shards of the class: which students a shard grades, and which shard this process is (tools/autograde_parallel.py).

A shard is a fixed 1/N of the class, by a hash of the student id. N is declared once, by whoever starts the shards:
`--shard I/N`, or `--shards N` with the index from a job array: Slurm's SLURM_ARRAY_TASK_ID (deploy/slurm/
autograde.sbatch passes --shards), Kubernetes' JOB_COMPLETION_INDEX (deploy/kubernetes/autograde-job.yaml). The array
index is the shard index, whatever else Slurm says: `sbatch --array=3` (a rerun) is shard 3 of N, not 1 of 1
(Slurm sets SLURM_ARRAY_TASK_COUNT=1 there), and --array=3,7, 0-9:3 or 1-10%2 grade the shards they name.
"""
import hashlib
import os
import sys


def shard_of(student, count):
    """The shard (0 .. count-1) that grades `student`: fixed by the id alone, whatever else is in submitted/."""
    return int(hashlib.sha256(student.encode("utf-8")).hexdigest(), 16) % count


def which_shard(shard=None, shards=None, env=os.environ):
    """(index, count, where it came from) from --shard I/N, else from a job array's index and --shards N;
    None: the whole class. Anything else stops with a message that says what to pass."""
    if shard:
        try:
            index, count = (int(x) for x in shard.split("/"))
        except ValueError:
            sys.exit(f"--shard {shard}: expected I/N, e.g. --shard 0/3 (I counts from 0 to N-1)")
        where = "--shard"
    elif env.get("SLURM_ARRAY_TASK_ID"):
        if not shards:
            sys.exit("a Slurm array task (SLURM_ARRAY_TASK_ID is set): pass the number of shards as --shards N, as "
                     "deploy/slurm/autograde.sbatch does (Slurm's SLURM_ARRAY_TASK_COUNT counts only this submission's "
                     "tasks: 1 for a rerun with --array=3)")
        index, count, where = int(env["SLURM_ARRAY_TASK_ID"]), shards, "SLURM_ARRAY_TASK_ID"
    elif env.get("JOB_COMPLETION_INDEX"):
        if not shards:
            sys.exit("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): pass the Job's completions as --shards N")
        index, count, where = int(env["JOB_COMPLETION_INDEX"]), shards, "JOB_COMPLETION_INDEX"
    elif shards:
        sys.exit(f"--shards {shards} needs the index from a job array (sbatch --array, a Kubernetes Indexed Job); "
                 "or use --shard I/N")
    else:
        return None
    if count < 1 or not 0 <= index < count:
        hint = {"SLURM_ARRAY_TASK_ID": f"sbatch --array takes shard indexes from 0 to {count - 1}, e.g. "
                                       f"--array=0-{count - 1} or --array=3",
                "JOB_COMPLETION_INDEX": "the Job's completions must equal --shards"}.get(where, "")
        sys.exit(f"shard {index} of {count} ({where}): there is no such shard, the index counts from 0 to {count - 1}"
                 + (f"; {hint}" if hint else ""))
    return index, count, where
