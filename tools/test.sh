#!/usr/bin/env bash
# The test suite: sets up the environment, then runs pytest (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh

# Debian's PostgreSQL server: the slow tests start a throwaway one of their own (tools/scratch_postgres.py: initdb
# in a temporary folder, a unix socket there, no TCP); the fast tier (-m "not slow") needs none.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing postgresql ..."
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null
  else
    echo "missing Debian package: postgresql (sudo apt-get install postgresql), for the PostgreSQL tests" >&2
  fi
fi
exec python -m pytest tests "$@"
