#!/usr/bin/env bash
# The whole course pipeline on a sample class, in a scratch course of its own (never in this folder, so a
# real course's gradebook and students are never touched):
#   release from source/ -> sample submissions in submitted/ -> nbgrader autograde -> grade table
#   -> integrity report -> class report -> grades.csv -> feedback/.
# The scratch course is a new folder under /tmp (or $LAB2_DEMO_DIR, which must not exist yet).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
tools="$(pwd)/tools"

demo="${LAB2_DEMO_DIR:-$(mktemp -d /tmp/lab2-demo-XXXXXX)}"
if [ -n "${LAB2_DEMO_DIR:-}" ]; then
  [ ! -e "$demo" ] || { echo "LAB2_DEMO_DIR=$demo exists: the demo only builds a new scratch course" >&2; exit 1; }
  mkdir -p "$demo"
fi
echo "scratch course: $demo"
python "$tools/prepare_data.py" --dest "$demo/data"
python "$tools/release.py" --new "$demo"
python "$tools/submissions.py" --course "$demo"

cd "$demo"
students=$(ls submitted | wc -l)
start=$(python -c "import time; print(time.time())")
# nbgrader logs "Attribute 'checksum' for cell ... has changed" for every test cell: that is how it
# puts the hidden tests back (README, TAs); tools/integrity_report.py reports real changes.
nbgrader autograde lab2_regularization --force --log-level=WARN > autograde.log 2>&1 || {
  cat autograde.log; echo "nbgrader autograde failed (log above, also in $demo/autograde.log)"; exit 1; }
grep -v -e "Attribute 'checksum' for cell" -e "TCP without encryption" -e "Removing existing assignment" autograde.log | grep -e ERROR -e WARNING || true
python -c "import time; t = time.time() - $start; print(f'\nautograde: $students submissions in {t:.1f} s ({t / $students:.1f} s per submission)\n')"

python "$tools/grade_table.py" --course .
echo
python "$tools/integrity_report.py" --course . | head -40
python "$tools/class_report.py" --course .
nbgrader export --to grades.csv --log-level=WARN
nbgrader generate_feedback lab2_regularization --force --log-level=ERROR
echo
echo "scratch course: $demo (delete it when done)"
echo "grades: $demo/grades.csv"
echo "feedback: $demo/feedback/<student>/lab2_regularization/lab2_regularization.html"
echo "integrity report: $demo/integrity_report.md"
echo "class report: $demo/class_report.html"
