"""A throwaway PostgreSQL server (Debian's postgresql package) for the tests and the benchmark: initdb in a new
temporary folder, listening on a unix socket in that folder only (no TCP), stopped and deleted at the end. As
root, the server runs as the user `postgres` (initdb refuses root) and the folder is that user's; nobody else can
reach the socket.

    python tools/scratch_postgres.py [--database lab2]   # start one, print its LAB2_DB_URL, stop it on Ctrl-C
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import glob
import os
import re
import shutil
import subprocess
import tempfile
import time

MISSING = ("Debian's PostgreSQL server is not installed (no /usr/lib/postgresql/*/bin/initdb): "
           "apt-get install postgresql (tools/test.sh installs it when run as root)")


def binaries():
    """The folder of the newest installed server's programs (initdb, pg_ctl)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(n) for n in re.findall(r"\d+", p.split("/")[-3])])
    if not found:
        raise RuntimeError(MISSING)
    return os.path.dirname(found[-1])


class ScratchPostgres:
    """with ScratchPostgres() as pg: url = pg.create_database("lab2")"""

    def __init__(self, durable=False):
        self.durable = durable  # fsync as a real server does (the benchmark); the tests need no crash safety
        self.folder = None

    def _run(self, *command):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True)
        if result.returncode != 0:
            log = os.path.join(self.folder, "server.log")
            tail = open(log).read()[-3000:] if os.path.exists(log) else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}\n{tail}")
        return result

    def start(self):
        bin_dir = binaries()
        self.folder = tempfile.mkdtemp(prefix="lab2-postgres-")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        data = os.path.join(self.folder, "data")
        self._run(os.path.join(bin_dir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        options = f"-c listen_addresses='' -c unix_socket_directories='{self.folder}' -c max_connections=100"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(os.path.join(bin_dir, "pg_ctl"), "-D", data, "-l", os.path.join(self.folder, "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        self.bin_dir = bin_dir
        return self

    def url(self, database, user="postgres"):
        return f"postgresql+psycopg://{user}@/{database}?host={self.folder}"

    def execute(self, *statements, database="postgres"):
        """Run SQL as the server's superuser (outside a transaction: CREATE DATABASE, roles)."""
        import psycopg
        with psycopg.connect(host=self.folder, user="postgres", dbname=database, autocommit=True) as db:
            return [db.execute(s).fetchall() if s.lstrip().upper().startswith("SELECT") else db.execute(s)
                    for s in statements]

    def create_database(self, name, user="postgres"):
        """A new, empty database (and its owner, a role that may log in); its SQLAlchemy URL."""
        if user != "postgres":
            self.execute(f'CREATE ROLE "{user}" LOGIN')
        self.execute(f'CREATE DATABASE "{name}" OWNER "{user}"')
        return self.url(name, user)

    def stop(self):
        if self.folder is None:
            return
        try:
            self._run(os.path.join(self.bin_dir, "pg_ctl"), "-D", os.path.join(self.folder, "data"), "-m", "fast",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="lab2")
    args = parser.parse_args()
    with ScratchPostgres() as pg:
        print(f"export LAB2_DB_URL='{pg.create_database(args.database)}'   # Ctrl-C stops the server and deletes it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
