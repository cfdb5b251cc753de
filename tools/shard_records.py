"""The record a run of tools/autograde_parallel.py keeps in the course folder, the same for a local run, a Slurm array
task and a Kubernetes pod: autograde_logs/shards/shard-<I>-of-<N>.json (the whole class: shard-0-of-1.json), written
when the run starts and again after each student (atomically: a reader never sees half a file). It holds the shard,
its students, who was graded and who failed this run, its state (running, done, stopped by a signal) and where it
runs (the host and pid; Slurm's job and the options to submit it again; the Kubernetes pod). tools/class_status.py
reads these records with the gradebook. A run of a few named students (--student) keeps none.
"""
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

FOLDER = Path("autograde_logs") / "shards"


def path(course, index, count):
    return Path(course) / FOLDER / f"shard-{index}-of-{count}.json"


def where_it_runs(env=os.environ):
    """The scheduler that started this run, and what it says about this run."""
    if env.get("SLURM_JOB_ID"):
        keys = {"job": "SLURM_JOB_ID", "array_job": "SLURM_ARRAY_JOB_ID", "task": "SLURM_ARRAY_TASK_ID",
                "partition": "SLURM_JOB_PARTITION", "cpus_per_task": "SLURM_CPUS_PER_TASK",
                "mem_per_cpu": "SLURM_MEM_PER_CPU", "submit_dir": "SLURM_SUBMIT_DIR"}
        return {"kind": "slurm", **{k: env[v] for k, v in keys.items() if env.get(v)}}
    if env.get("JOB_COMPLETION_INDEX"):
        return {"kind": "kubernetes", "pod": env.get("HOSTNAME", socket.gethostname())}
    return {"kind": "local"}


class Record:
    """The record of one run: Record(course, (index, count), students), then graded()/failed() per student, done()."""

    def __init__(self, course, shard, students, env=os.environ):
        self.path = path(course, *shard)
        self.data = {"shard": shard[0], "shards": shard[1], "students": list(students), "graded": [], "failed": {},
                     "state": "running", "started": time.time(), "host": socket.gethostname(), "pid": os.getpid(),
                     "scheduler": where_it_runs(env)}
        self.lock = threading.Lock()
        self.old_handler = None
        if threading.current_thread() is threading.main_thread():  # a cancelled job (scancel, kubectl delete) says so
            self.old_handler = signal.signal(signal.SIGTERM, self._terminated)
        self.write()

    def write(self):
        with self.lock:
            self.data["updated"] = time.time()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)

    def graded(self, student):
        self.data["graded"].append(student)
        self.write()

    def failed(self, student, message):
        self.data["failed"][student] = message
        self.write()

    def done(self):
        self.data["state"] = "done"
        self.write()
        if self.old_handler is not None:
            signal.signal(signal.SIGTERM, self.old_handler)

    def _terminated(self, signum, frame):
        self.data["state"] = "stopped"
        self.data["signal"] = signal.Signals(signum).name
        self.write()
        signal.signal(signum, signal.SIG_DFL)  # then end as the signal would have ended it
        os.kill(os.getpid(), signum)


def read_all(course):
    """Every record in the course folder, as dicts."""
    folder = Path(course) / FOLDER
    found = []
    for file in sorted(folder.glob("shard-*-of-*.json")) if folder.is_dir() else []:
        try:
            found.append(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError):  # being replaced just now: os.replace makes that rare; skip it this time
            continue
    return found
