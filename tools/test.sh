#!/usr/bin/env bash
# The test suite: sets up the environment, then runs pytest (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
# --- the browser tests (tests/test_formgrader.py) drive the Formgrader with Debian's chromium and its driver;
# --- CJK fonts for the Chinese pages they screenshot. Only the tests use them: tools/demo.sh does not install them.
debian_packages "the browser tests" chromium=chromium chromium-driver=chromedriver \
  fonts-noto-cjk=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
# ---
# --- Debian's PostgreSQL server: the slow tests start a throwaway one of their own (tools/scratch_postgres.py: initdb
# --- in a temporary folder, a unix socket there, no TCP); the fast tier (-m "not slow") needs none.
debian_packages "the PostgreSQL tests" postgresql="$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1)"
# ---
# --- Debian's Slurm: tests/test_slurm.py starts a one-node cluster of its own (tools/scratch_slurm.py: 127.0.0.1, a
# --- slurm.conf in a temporary folder); the fast tier needs none.
debian_packages "the Slurm tests" slurmctld=/usr/sbin/slurmctld slurmd=/usr/sbin/slurmd munge=/usr/sbin/munged \
  slurm-client=/usr/bin/sbatch
# ---
# --- one pytest process per core (pytest-xdist), each module whole in one of them (its fixtures made once);
# --- LAB2_TEST_PROCESSES=0 runs everything in this process (as `python -m pytest` does)
exec python -m pytest -n "${LAB2_TEST_PROCESSES:-auto}" --dist loadfile tests "$@"
