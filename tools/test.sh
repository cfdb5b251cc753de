#!/usr/bin/env bash
# The test suite: sets up the environment, then runs pytest (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
exec python -m pytest tests "$@"
