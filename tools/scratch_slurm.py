"""A throwaway one-node Slurm cluster (Debian's slurmctld, slurmd and munge) for the tests and the benchmark: a MUNGE
key, a slurm.conf, the daemons' state, spool and logs in a new temporary folder; the node is this machine on
127.0.0.1 (its real CPUs and memory, as `slurmd -C` reports them). The daemons run in the foreground as children of
this process and are stopped by their pids, then the folder is deleted. Clients reach it with SLURM_CONF (env()).
As root, the daemons and the jobs run as root (SlurmUser=root: a test cluster, nobody else's jobs).

    python tools/scratch_slurm.py      # start one, print its SLURM_CONF, stop it on Ctrl-C
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

MISSING = ("Debian's Slurm is not installed (slurmctld, slurmd, munged, sbatch): apt-get install slurmctld slurmd munge "
           "slurm-client (tools/test.sh installs them when run as root)")
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def this_node():
    """(CPUs, RealMemory in MB) of this machine, as slurmd itself counts them (a node configured larger is drained)."""
    found = dict(re.findall(r"(\w+)=(\S+)", subprocess.run(["slurmd", "-C"], capture_output=True, text=True).stdout))
    return int(found.get("CPUs", os.cpu_count() or 1)), int(found.get("RealMemory", 1024))


class ScratchSlurm:
    """with ScratchSlurm() as slurm: subprocess.run(["sbatch", ...], env=slurm.env())"""

    def __init__(self, partition="lab2"):
        self.partition, self.folder, self.procs = partition, None, {}

    def path(self, name):
        return os.path.join(self.folder, name)

    def conf(self):
        host, (cpus, memory) = socket.gethostname().split(".")[0], this_node()
        settings = {
            "ClusterName": "lab2scratch", "SlurmctldHost": f"{host}(127.0.0.1)",
            "SlurmUser": "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody"),
            "SlurmctldPort": free_port(), "SlurmdPort": free_port(),
            "AuthType": "auth/munge", "CredType": "cred/munge", "AuthInfo": f"socket={self.path('munge.socket')}",
            "StateSaveLocation": self.path("state"), "SlurmdSpoolDir": self.path("spool"),
            "SlurmctldPidFile": self.path("slurmctld.pid"), "SlurmdPidFile": self.path("slurmd.pid"),
            "SlurmctldLogFile": self.path("slurmctld.log"), "SlurmdLogFile": self.path("slurmd.log"),
            "ProctrackType": "proctrack/linuxproc", "TaskPlugin": "task/none", "MpiDefault": "none",
            "SelectType": "select/cons_tres", "SelectTypeParameters": "CR_Core_Memory",
            "JobAcctGatherType": "jobacct_gather/none", "AccountingStorageType": "accounting_storage/none",
            "JobCompType": "jobcomp/filetxt", "JobCompLoc": self.path("jobcomp.txt"),  # finished jobs, without sacct
            "DefMemPerCPU": memory // cpus,  # a job that asks for no memory takes its share, not the whole node
            "EnforcePartLimits": "ALL",  # a job no node can run is refused at sbatch (else it pends for ever)
            "ReturnToService": 2, "MinJobAge": 600, "KillWait": 5, "InactiveLimit": 0, "SchedulerParameters":
                "sched_interval=1", "MaxArraySize": 1001,
        }
        lines = [f"{k}={v}" for k, v in settings.items()]
        lines += [f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN",
                  f"PartitionName={self.partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP"]
        return "\n".join(lines) + "\n"

    def env(self, base=None):
        return dict(os.environ if base is None else base, SLURM_CONF=self.path("slurm.conf"))

    def _daemon(self, name, command):
        log = open(self.path(f"{name}.stdout"), "w")
        self.procs[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                            start_new_session=True)
        log.close()

    def start(self, timeout=60):
        missing = [p for p in PROGRAMS if shutil.which(p) is None]
        if missing:
            raise RuntimeError(f"{MISSING}; missing: {', '.join(missing)}")
        self.folder = tempfile.mkdtemp(prefix="lab2-slurm-")
        for sub in ("state", "spool"):
            os.mkdir(self.path(sub), 0o700)
        with open(os.open(self.path("munge.key"), os.O_WRONLY | os.O_CREAT, 0o400), "wb") as key:
            key.write(os.urandom(1024))
        with open(self.path("slurm.conf"), "w") as f:
            f.write(self.conf())
        try:
            self._daemon("munged", ["munged", "--foreground", "--force", f"--socket={self.path('munge.socket')}",
                                    f"--key-file={self.path('munge.key')}", f"--pid-file={self.path('munged.pid')}",
                                    f"--log-file={self.path('munged.log')}", f"--seed-file={self.path('munged.seed')}"])
            self._wait(lambda: os.path.exists(self.path("munge.socket")), "munged", timeout)
            self._daemon("slurmctld", ["slurmctld", "-D", "-i", "-f", self.path("slurm.conf")])
            self._daemon("slurmd", ["slurmd", "-D", "-f", self.path("slurm.conf")])
            self._wait(self.idle, "the node", timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def idle(self):
        result = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.env())
        return result.returncode == 0 and result.stdout.strip() == "idle"

    def _wait(self, ready, what, timeout):
        end = time.time() + timeout
        while not ready():
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead or time.time() > end:
                raise RuntimeError(f"{what} did not come up ({', '.join(dead) or 'timeout'} ended):\n{self.logs()}")
            time.sleep(0.2)

    def logs(self, tail=2000):
        out = []
        for name in ("munged", "slurmctld", "slurmd"):
            for suffix in (".log", ".stdout"):
                if os.path.exists(self.path(name + suffix)):
                    out.append(f"--- {name}{suffix}\n" + open(self.path(name + suffix), errors="replace").read()[-tail:])
        return "\n".join(out)

    def sbatch(self, folder, env, *args):
        """Submit from `folder` with the environment `env` (sbatch passes it on to the job); the job id."""
        result = subprocess.run(["sbatch", "--parsable", *args], cwd=folder, env=self.env(env), capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise RuntimeError(f"sbatch {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout.strip().split(";")[0]

    def wait(self, job, timeout=600):
        """Until no task of `job` is pending, running or completing; False on the timeout."""
        end = time.time() + timeout
        while time.time() < end:
            left = subprocess.run(["squeue", "-h", "-r", "-j", job, "-t", "PD,R,CG,CF", "-o", "%i"],
                                  capture_output=True, text=True, env=self.env()).stdout.split()
            if not left:
                return True
            time.sleep(0.3)
        return False

    def jobs(self):
        """The finished jobs slurmctld recorded (jobcomp/filetxt): one dict per job, e.g. JobId, JobState, ExitCode."""
        if not os.path.exists(self.path("jobcomp.txt")):
            return []
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in open(self.path("jobcomp.txt"))]

    def stop(self):
        """The daemons by their pids, slurmd first (its jobs end with it), then slurmctld, then munged."""
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    with ScratchSlurm() as slurm:
        print(f"export SLURM_CONF={slurm.path('slurm.conf')}   # Ctrl-C stops the cluster and deletes it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
