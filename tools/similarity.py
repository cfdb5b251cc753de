"""Copying across the class: one similarity report for the code, the 思考题 answers and the notebook's own traces.

    python tools/similarity.py [--course .] [--threshold 0.5] [--max-share 10] ...

Reads every notebook in submitted/ as JSON (after `nbgrader zip_collect`, or autograde: nothing is run) and writes
similarity_report.html (the page for the TA: ranked pairs, groups of three or more, each pair side by side with the
shared passages marked) and similarity.csv (one row per flagged pair) into the course folder. A match is a reason to
look, not a verdict.

The evidence (tools/similarity_evidence.py) is weighed by the class itself: a feature (a code fingerprint, a name, a
trace) that more than `max_share` students share counts for nothing (MOSS's -m), one that two students alone share
counts fully, one that d students share counts 1/(d-1) for each pair of them; the release's code, text, cell ids and
outputs count for nothing. The answers' n-grams are weighed by their rarity in the class (idf), so that the lecture's
phrases count little.

- code: per part (and the student's own cells as one more), the weight of the rare fingerprints two students share,
  plus `name_weight` for each rare name both bound, over the smaller of their two counts of rare fingerprints (at
  least `min_passage`), at most 1; the parts' scores combined as the root of their sum of squares (at most 1);
- answers: the cosine of the two students' idf-weighted n-grams over all five answers, as far above the class's
  median pair as it is (0 at the median, 1 for the same text);
- traces: 1 - exp(-w / 2) for the weight w of the traces two students share.
The pair's score is the root of the sum of the three squares, at most 1: one strong kind of evidence is enough, weak
evidence of several kinds adds up less.

Candidate pairs come from an inverted index of the features that at most `max_share` students hold (every pair of
holders of one) and from MinHash LSH over the answers' n-grams (a copy made of common sentences shares no rare
one); only the candidates are scored.

Settings: traits of Similarity (python tools/settings.py), on the command line (--threshold 0.6, or
--Similarity.threshold=0.6), in nbgrader_config.py (c.Similarity.threshold = 0.6), or from the environment variable
their trait names.
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import csv
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from traitlets import Float, Integer, default
from traitlets.config import Configurable

import course
from tools import similarity_evidence as evidence

ASSIGNMENT = course.ASSIGNMENT
SHOWN_BELOW = 20  # the page also lists this many of the closest pairs below the threshold


class Similarity(Configurable):
    """The similarity report's settings (tools/similarity.py)."""

    threshold = Float(0.6, help="A pair whose score (0 to 1) reaches this is flagged: on the page, in similarity.csv "
                                "and in the class report. A match is a reason to look, not a verdict.") \
        .tag(config=True, env="LAB2_SIMILARITY_THRESHOLD")
    max_share = Integer(10, help="MOSS's -m: a code fingerprint, a name or a trace that more than this many students "
                                 "share counts for nothing (code that many write the same way, output every run "
                                 "prints alike).").tag(config=True)
    min_passage = Float(16.0, help="The fewest fingerprints a part's code score is measured against: a part that "
                                   "shares fewer rare fingerprints than this with a classmate scores in proportion "
                                   "(a shared one-liner is not a copied part).").tag(config=True)
    name_weight = Float(5.0, help="What a rare name that both students bound (a variable, a function, a parameter "
                                  "that few others use) counts, in fingerprints: a copier renames the common names "
                                  "and keeps the odd ones.").tag(config=True)
    k = Integer(12, help="Tokens per code fingerprint (MOSS's k): shorter runs of equal code leave no "
                        "fingerprint.").tag(config=True)
    window = Integer(4, help="Winnowing window: any run of k + window - 1 equal normalized tokens leaves at least "
                             "one shared fingerprint.").tag(config=True)
    ngram = Integer(3, help="Characters per n-gram of the 思考题 answers (after punctuation and spaces are "
                            "removed).").tag(config=True)

    @default("threshold")
    def _default_threshold(self):
        value = os.environ.get(self.traits()["threshold"].metadata["env"])
        return self.traits()["threshold"].default_value if value is None else float(value)


# ---------------------------------------------------------------- the class
def read_class(folder, settings):
    """The release, and the evidence of every submission in submitted/ (with its error, where it could not be read)."""
    folder = Path(folder)
    release = evidence.read_release(course.release_nb(folder), settings)
    subs = []
    root = folder / "submitted"
    for student in sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        path = course.submitted_nb(folder, student)
        if path.exists():
            subs.append(evidence.read_submission(student, path, release, settings))
    return release, subs


@dataclass
class Pair:
    a: str
    b: str
    score: float = 0.0
    code: float = 0.0
    answers: float = 0.0
    traces: float = 0.0
    units: list = field(default_factory=list)      # (unit of a, unit of b, score, shared features)
    questions: list = field(default_factory=list)  # (question, cosine)
    shared_traces: list = field(default_factory=list)
    names: list = field(default_factory=list)      # rare names both bound
    cosine: float = 0.0

    @property
    def parts(self):
        return sorted({ua if ua == ub else f"{ua}~{ub}" for ua, ub, s, _ in self.units if s >= 0.25})


@dataclass
class Result:
    students: list
    unreadable: dict
    pairs: list                # every scored pair, best first
    flagged: list              # the pairs at or above the threshold
    groups: list               # sets of three or more students joined by flagged pairs
    settings: Similarity
    baseline: float            # the class's median answer cosine
    candidates: int
    seconds: float
    text_df: dict = field(default_factory=dict)  # n-gram -> how many students' answers hold it


def weight(df, max_share):
    """What a feature shared by df students counts for each pair of them (0 past max_share)."""
    return 0.0 if df > max_share or df < 2 else 1.0 / (df - 1)


class Index:
    """Features -> students, and the pairs that share the rare ones, with their weights."""

    def __init__(self, n, max_share):
        self.holders = defaultdict(list)
        self.n, self.max_share = n, max_share

    def add(self, feature, who):
        self.holders[feature].append(who)

    def df(self, feature):
        return len(self.holders[feature])

    def shared(self):
        """(i, j) -> [(feature, weight, what i has, what j has)] over the rare features."""
        out = defaultdict(list)
        for feature, holders in self.holders.items():
            w = weight(len(holders), self.max_share)
            if w:
                for x in range(len(holders)):
                    for y in range(x + 1, len(holders)):
                        (i, ui), (j, uj) = holders[x], holders[y]
                        if i != j:
                            out[(i, j) if i < j else (j, i)].append((feature, w, ui, uj) if i < j else (feature, w, uj, ui))
        return out


def minhash_pairs(sets, bands=24, rows=4, seed=1):
    """Candidate pairs of MinHash LSH: students whose sets agree on all `rows` minima of some band."""
    rng = np.random.default_rng(seed)
    salts = rng.integers(1, 2**63, size=bands * rows, dtype=np.uint64)
    mults = rng.integers(1, 2**63, size=bands * rows, dtype=np.uint64) | np.uint64(1)
    buckets = defaultdict(list)
    with np.errstate(over="ignore"):
        for i, values in enumerate(sets):
            if len(values) == 0:
                continue
            h = (values[:, None] ^ salts[None, :]) * mults[None, :]
            signature = h.min(axis=0).reshape(bands, rows)
            for b in range(bands):
                buckets[(b, signature[b].tobytes())].append(i)
    pairs = set()
    for members in buckets.values():
        if 1 < len(members) <= 200:  # a bucket of hundreds is text all of them share: the index's pairs remain
            pairs.update((members[x], members[y]) for x in range(len(members)) for y in range(x + 1, len(members)))
    return pairs


def compare(subs, release, settings):
    start = time.perf_counter()
    unreadable = {s.student: s.error for s in subs if s.error}
    subs = [s for s in subs if not s.error]
    n, m = len(subs), settings.max_share
    order = {name: i for i, name in enumerate(list(release.answer_cells.values()) + [evidence.OWN])}

    code, traces = Index(n, m), Index(n, m)
    for i, sub in enumerate(subs):
        first_unit = {}
        for unit in sorted(sub.units, key=lambda u: order.get(u, 99)):
            for f in sub.code_features(unit):
                first_unit.setdefault(f, unit)
        for f, unit in first_unit.items():
            code.add(f, (i, unit))
        for f in sub.traces:
            traces.add(f, (i, None))
    mass = [defaultdict(float) for _ in subs]  # per unit: its fingerprints that at most max_share students hold
    for i, sub in enumerate(subs):
        for unit in sub.units:
            mass[i][unit] = sum(1 for f in sub.units[unit].prints if code.df(f) <= m)

    # the answers: n-grams pooled over the five answers, idf-weighted, as sparse vectors (gram ids, unit length)
    tf = [Counter({g: len(sp) for a in sub.answers.values() for g, sp in a.grams.items()}) for sub in subs]
    df_text = Counter(g for t in tf for g in t)
    gram_id = {g: k for k, g in enumerate(sorted(df_text))}
    idf = {g: math.log(n / d) for g, d in df_text.items()}
    vectors = []
    for t in tf:
        kept = sorted((gram_id[g], (1 + math.log(c)) * idf[g]) for g, c in t.items() if idf[g] > 0)
        ids = np.array([k for k, _ in kept], dtype=np.int64)
        values = np.array([v for _, v in kept], dtype=np.float64)
        vectors.append((ids, values / (np.linalg.norm(values) or 1.0)))
    dense = np.zeros(len(gram_id))

    def cosines(i, others):
        """The cosine of student i's answers with each of `others`' (one dense vector, a gather per classmate)."""
        ids, values = vectors[i]
        dense[ids] = values
        out = [float(dense[vectors[j][0]] @ vectors[j][1]) for j in others]
        dense[ids] = 0.0
        return out

    rng = random.Random(0)
    sample = [cosines(*(lambda i, j: (i, [j]))(*rng.sample(range(n), 2)))[0]
              for _ in range(min(2000, n * (n - 1) // 2))] if n >= 2 else [0.0]
    baseline = float(np.median(sample))

    code_shared, trace_shared = code.shared(), traces.shared()
    candidates = set(code_shared) | set(trace_shared)
    text_index = Index(n, m)
    for i, t in enumerate(tf):
        for g in t:
            if 2 <= df_text[g] <= m:
                text_index.add(g, (i, None))
    for feature, holders in text_index.holders.items():
        for x in range(len(holders)):
            for y in range(x + 1, len(holders)):
                candidates.add((holders[x][0], holders[y][0]))
    common = np.array([df_text[g] > n / 2 for g in sorted(df_text)], dtype=bool)
    candidates |= minhash_pairs([ids[~common[ids]].astype(np.uint64) for ids, _ in vectors])
    by_first = defaultdict(list)
    for i, j in candidates:
        by_first[i].append(j)
    cosine = {}
    for i, others in by_first.items():
        cosine.update({(i, j): c for j, c in zip(others, cosines(i, others))})

    pairs = []
    for i, j in candidates:
        a, b = subs[i], subs[j]
        pair = Pair(a.student, b.student)
        by_units = defaultdict(list)
        for f, w, ua, ub in code_shared.get((i, j), ()):
            by_units[(ua, ub)].append((f, w * settings.name_weight if isinstance(f, tuple) else w))
        for (ua, ub), found in by_units.items():
            s = sum(w for _, w in found)
            floor = max(min(mass[i][ua], mass[j][ub]), settings.min_passage)
            pair.units.append((ua, ub, min(1.0, s / floor), [f for f, _ in found]))
        pair.units.sort(key=lambda u: -u[2])
        pair.code = min(1.0, math.sqrt(sum(u[2] ** 2 for u in pair.units)))
        pair.names = sorted(f[1] for _, _, _, fs in pair.units for f in fs if isinstance(f, tuple))
        pair.cosine = cosine[(i, j)]
        pair.answers = max(0.0, (pair.cosine - baseline) / (1 - baseline)) if baseline < 1 else 0.0
        shared = trace_shared.get((i, j), ())
        pair.shared_traces = sorted(((a.traces[f], w) for f, w, _, _ in shared), key=lambda t: (-t[1], t[0]))
        pair.traces = 1 - math.exp(-sum(w for _, w in pair.shared_traces) / 2)
        pair.score = min(1.0, math.sqrt(pair.code ** 2 + pair.answers ** 2 + pair.traces ** 2))
        if pair.score > 0:
            pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    flagged = [p for p in pairs if p.score >= settings.threshold]
    by_name = {s.student: s for s in subs}
    for p in pairs[:len(flagged) + SHOWN_BELOW]:  # each answer's own cosine, for the pairs the page shows
        a, b = by_name[p.a], by_name[p.b]
        p.questions = [(q, answer_cosine(a.answers[q], b.answers[q], idf)) for q in sorted(set(a.answers) & set(b.answers))]
    return Result([s.student for s in subs], unreadable, pairs, flagged, groups(flagged), settings, baseline,
                  len(candidates), time.perf_counter() - start, df_text)


def answer_cosine(a, b, idf):
    va = {g: (1 + math.log(len(s))) * idf.get(g, 0) for g, s in a.grams.items()}
    vb = {g: (1 + math.log(len(s))) * idf.get(g, 0) for g, s in b.grams.items()}
    na, nb = math.sqrt(sum(x * x for x in va.values())), math.sqrt(sum(x * x for x in vb.values()))
    if not na or not nb:
        return 0.0
    return sum(x * vb[g] for g, x in va.items() if g in vb) / (na * nb)


def groups(flagged):
    """The students joined by flagged pairs, in groups of three or more (union-find)."""
    parent = {}

    def root(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for p in flagged:
        parent[root(p.a)] = root(p.b)
    found = defaultdict(set)
    for x in parent:
        found[root(x)].add(x)
    return sorted((sorted(g) for g in found.values() if len(g) >= 3), key=lambda g: (-len(g), g))


# ---------------------------------------------------------------- the files
CSV_COLUMNS = ["student_a", "student_b", "score", "code", "answers", "traces", "parts", "questions", "traces_found",
               "names", "group"]


def write_csv(path, result):
    group_of = {s: i + 1 for i, g in enumerate(result.groups) for s in g}
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        for p in result.flagged:
            kinds = sorted({what.split(" ", 1)[0] for what, _ in p.shared_traces})
            out.writerow([p.a, p.b, f"{p.score:.3f}", f"{p.code:.3f}", f"{p.answers:.3f}", f"{p.traces:.3f}",
                          ";".join(p.parts), ";".join(q for q, c in p.questions if c >= 0.5), ";".join(kinds),
                          ";".join(p.names[:20]), group_of.get(p.a, "")])


def settings_from(args, folder):
    """Similarity with nbgrader_config.py's c.Similarity (read only when it names Similarity: loading the file imports
    nbgrader), then the command line's values."""
    from traitlets.config import Config
    config = Config()
    path = Path(folder) / "nbgrader_config.py"
    if path.exists() and "Similarity" in path.read_text(encoding="utf-8"):
        from traitlets.config.loader import PyFileConfigLoader
        config.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
    for name in Similarity.class_own_traits(config=True):
        value = getattr(args, name, None)
        if value is not None:
            config.Similarity[name] = value
    config.merge(args.traitlets)
    return Similarity(config=config)


def write(folder, settings=None):
    """Compare the class in `folder`, write similarity_report.html and similarity.csv; return the Result."""
    from tools import similarity_page
    folder = Path(folder)
    settings = settings or Similarity()
    start = time.perf_counter()
    release, subs = read_class(folder, settings)
    result = compare(subs, release, settings)
    result.seconds = time.perf_counter() - start
    (folder / "similarity_report.html").write_text(similarity_page.page(result, {s.student: s for s in subs}, folder),
                                                    encoding="utf-8")
    write_csv(folder / "similarity.csv", result)
    return result


def flagged_pairs(folder):
    """(student_a, student_b, score, what) of the flagged pairs in the course's similarity.csv ([] without one)."""
    path = Path(folder) / "similarity.csv"
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [(r["student_a"], r["student_b"], float(r["score"]),
                 ", ".join(x for x in (r["parts"], r["questions"], r["traces_found"]) if x)) for r in csv.DictReader(f)]


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--course", default=".", help="the course folder (default: the current folder)")
    for name, trait in sorted(Similarity.class_own_traits(config=True).items()):
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(trait.default_value), default=None,
                       help=" ".join(trait.help.split()) + f" (default: {trait.default_value})")
    return p


def main(argv=None):
    from traitlets.config.loader import KVArgParseConfigLoader
    args, rest = parser().parse_known_args(argv)
    unknown = [a for a in rest if not a.startswith("--Similarity.")]
    if unknown:
        parser().error(f"unrecognized arguments: {' '.join(unknown)}")
    args.traitlets = KVArgParseConfigLoader(rest).load_config() if rest else {}
    folder = Path(args.course)
    if not (folder / "submitted").is_dir():
        sys.exit(f"{folder / 'submitted'} 不存在:先运行 nbgrader zip_collect(或 autograde)。"
                 f"There is no {folder / 'submitted'}: run nbgrader zip_collect first.")
    result = write(folder, settings_from(args, folder))
    print(f"wrote {folder / 'similarity_report.html'} and {folder / 'similarity.csv'}: {len(result.students)} "
          f"submissions, {result.candidates} candidate pairs scored, {len(result.flagged)} flagged "
          f"(score >= {result.settings.threshold:g}), {len(result.groups)} groups of three or more, "
          f"{result.seconds:.1f} s")
    for student, error in result.unreadable.items():
        print(f"  not compared: {student}: {error}")
    for p in result.flagged[:10]:
        print(f"  {p.score:.2f}  {p.a} ~ {p.b}")
    print("相似只是值得查看的理由,不是结论。A match is a reason to look, not a verdict.")


if __name__ == "__main__":
    main()
