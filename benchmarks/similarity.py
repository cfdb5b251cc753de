"""The similarity report's time and memory on a made class (tests/similarity_class.py), at each class size given:
the real command (`python tools/similarity.py --course DIR`) in its own process, its wall seconds and peak resident
memory, and what it found of the copies planted (one set of seven disguises per 100 students: 9 planted pairs).

    python benchmarks/similarity.py --students 200 2000
    python benchmarks/similarity.py --students 200 --copydetect   # also copydetect (PyPI) on the same code, if installed

copydetect is run on each student's code as one .py file (the answer cells and their own cells, as the report reads
them), with the release's code as its boilerplate, its defaults otherwise (noise 25, guarantee 30 characters).
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import course

sys.path.insert(0, str(course.ROOT / "tests"))  # the made class lives with the tests (it writes from tests/corpus)
import corpus  # noqa: E402
import similarity_class  # noqa: E402


def made_class(folder, n, seed):
    """The class written into `folder` by a process of its own (spawned: this one stays small, so the report's process,
    started from it, does not inherit a peak resident memory that is not its own); the planted pairs."""
    import multiprocessing
    process = multiprocessing.get_context("spawn").Process(target=write_class, args=(folder, n, seed))
    process.start()
    process.join()
    if process.exitcode:
        raise SystemExit(f"making the class of {n} failed")
    return {frozenset(pair): disguise for pair, disguise in json.loads((folder / "planted.json").read_text())}


def write_class(folder, n, seed):
    source = course.read(course.source_nb())
    notebooks, planted = similarity_class.make_class(similarity_class.release_json(), source, corpus.corpus(source), n,
                                                     seed=seed)
    release = course.release_nb(folder)
    release.parent.mkdir(parents=True)
    shutil.copyfile(course.release_nb(), release)
    similarity_class.write_class(folder, notebooks)
    (folder / "planted.json").write_text(json.dumps([[sorted(pair), d] for pair, d in planted.items()]))


def run_report(folder):
    """The command in a process of its own: (wall seconds, peak RSS in MiB, its output)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(course.ROOT / "tools" / "similarity.py"), "--course", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(out)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out


def detection(folder, planted):
    with open(folder / "similarity.csv", newline="", encoding="utf-8") as f:
        flagged = {frozenset((r["student_a"], r["student_b"])) for r in csv.DictReader(f)}
    found = len(flagged & set(planted))
    return found, len(flagged) - found


def copydetect_seconds(folder):
    """copydetect's CopyDetector over each student's code as one file, the release's code as boilerplate."""
    from copydetect import CopyDetector
    from tools import similarity, similarity_evidence
    release, subs = similarity.read_class(folder, similarity.Similarity())
    code = folder / "copydetect"
    (code / "students").mkdir(parents=True)
    (code / "boilerplate").mkdir()
    nb = similarity_evidence.read_json(course.release_nb(folder))
    (code / "boilerplate" / "release.py").write_text("\n\n".join(
        similarity_evidence.source_of(c) for c in nb["cells"] if c.get("cell_type") == "code"), encoding="utf-8")
    for sub in subs:
        (code / "students" / f"{sub.student}.py").write_text("\n\n".join(u.source for u in sub.units.values()),
                                                             encoding="utf-8")
    start = time.perf_counter()
    detector = CopyDetector(test_dirs=[str(code / "students")], boilerplate_dirs=[str(code / "boilerplate")],
                            extensions=["py"], silent=True, display_t=0.5)
    detector.run()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--copydetect", action="store_true", help="also time copydetect on the same code")
    args = parser.parse_args()
    rows = []
    for n in args.students:
        folder = Path(tempfile.mkdtemp(prefix=f"similarity_{n}_"))
        try:
            start = time.perf_counter()
            planted = made_class(folder, n, args.seed)
            made = time.perf_counter() - start
            seconds, mib, out = run_report(folder)
            found, honest = detection(folder, planted)
            pairs = n * (n - 1) // 2
            row = {"students": n, "seconds": round(seconds, 1), "peak_mib": round(mib), "planted": len(planted),
                   "found": found, "honest_flagged": honest, "honest_pairs": pairs - len(planted),
                   "precision": round(found / max(found + honest, 1), 3), "recall": round(found / len(planted), 3),
                   "class_made_s": round(made, 1)}
            if args.copydetect:
                row["copydetect_s"] = round(copydetect_seconds(folder), 1)
            print(out.strip().splitlines()[0])
            print(json.dumps(row))
            rows.append(row)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{'students':>8} {'seconds':>8} {'peak MiB':>9} {'found':>9} {'honest flagged':>15} {'precision':>9} "
          f"{'recall':>6}" + ("  copydetect s" if args.copydetect else ""))
    for r in rows:
        print(f"{r['students']:8d} {r['seconds']:8.1f} {r['peak_mib']:9d} {r['found']:4d} of {r['planted']:<3d} "
              f"{r['honest_flagged']:6d} of {r['honest_pairs']:<8d} {r['precision']:6.3f} {r['recall']:6.3f}"
              + (f"  {r['copydetect_s']:10.1f}" if args.copydetect else ""))
        print(f"{'':8} ({r['seconds'] / r['students'] * 1000:.1f} ms per student)")


if __name__ == "__main__":
    main()
