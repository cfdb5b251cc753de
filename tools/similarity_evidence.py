"""What the similarity report compares, read from one submitted notebook as plain JSON (nothing runs, no kernel).

Three kinds of evidence, each a set of features per student (tools/similarity.py weighs them by how many students
share each one, and leaves out the release's):

- code: each graded part's answer cell and the student's own code cells (every other code cell whose source is not
  the release's), as normalized tokens: comments, whitespace and the text of strings dropped, every name
  the student's code binds (variables, parameters, functions, classes, attributes it assigns) written as one
  placeholder, so renaming and new comments change nothing; library names (torch.where, zeros_like) stay. Each
  k tokens are hashed and winnowed (MOSS's fingerprints: the smallest hash of every window of w, so any shared run of
  k + w - 1 tokens leaves at least one shared fingerprint). The names the student bound are features of their own:
  a copier renames the common ones and keeps the odd ones.
- the 思考题 answers: Unicode-normalized (NFKC, lower case), split into clauses at punctuation and line ends, each
  clause's punctuation and spaces removed, then character n-grams within each clause, so that reordered sentences
  give the same n-grams and a swapped word breaks only the n-grams that hold it.
- the notebook's own traces: cell ids that are not the release's (Jupyter gives each new cell a random id; a copied
  file keeps them), output lines that carry a number of four or more significant digits (losses, accuracies of an
  unseeded run), the bytes of each image, each error message, and the execution counts in cell order (the whole
  sequence, and each run of six).
"""
import hashlib
import json
import re
import symtable
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import keyword

import course
from grading.parts import part_name

OWN = "own"  # the unit that holds the student's own code cells
KEYWORDS = frozenset(keyword.kwlist + keyword.softkwlist)
CLAUSE = re.compile(r"(?:[。!?;,、:!?;:\n]|[.,](?!\d)|(?<!\d)[.,])+")  # not the point of 0.25
NUMBER = re.compile(r"\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+", re.IGNORECASE)
RANDOM_DIGITS = 6  # an output line is a trace when its decimal numbers hold this many significant digits in all
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SHELL_LINE = re.compile(r"^(\s*)[%!?].*$", re.M)  # IPython magics and shell lines: not Python, read as `pass`
MIN_NAME = 4  # a bound name shorter than this (x, out, one) is a word anyone writes: no feature of its own
COUNT_RUN = 12  # execution counts: each run of this many code cells with 4 or more irregular steps is a feature


def stable_hash(text):
    """A 63-bit hash of a string, the same in every run (Python's own hash() of a str is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little") >> 1


@dataclass
class Unit:
    """One stretch of code: a part's answer cell, or the student's own cells joined."""
    name: str
    source: str
    tokens: list = field(default_factory=list)     # (normalized text, start, end) in source
    prints: dict = field(default_factory=dict)     # fingerprint -> token positions where its k tokens start
    names: dict = field(default_factory=dict)      # name the student bound -> its spans in source


@dataclass
class Answer:
    """One 思考题 answer: its text and, per n-gram, where in the text it is."""
    name: str
    text: str
    grams: dict = field(default_factory=dict)      # n-gram -> [(start, end)] in text


@dataclass
class Submission:
    student: str
    units: dict = field(default_factory=dict)      # unit name -> Unit
    answers: dict = field(default_factory=dict)    # question -> Answer
    traces: dict = field(default_factory=dict)     # trace feature -> what it is, for people
    error: str = ""                                # why the notebook could not be read ("" when it could)

    def code_features(self, unit):
        u = self.units[unit]
        return set(u.prints) | {("name", n) for n in u.names}


# ---------------------------------------------------------------- the release: what every student was handed
@dataclass
class Release:
    ids: frozenset
    code: frozenset            # the sources of its code cells (a cell left as handed out is not the student's)
    names: frozenset           # every name its code uses or binds
    prints: frozenset          # every k-gram hash of its code (all of them, not only the winnowed)
    grams: frozenset           # every n-gram of its markdown
    outputs: frozenset         # its trace features of outputs (a release with outputs: shared by all)
    stubs: tuple               # the text a student replaces in an answer cell
    answer_cells: dict         # grade id -> part, of the graded answer cells (code), in the notebook's order
    question_cells: dict       # grade id -> question, of the 思考题 answer cells (markdown)
    test_cells: frozenset      # grade ids of test and locked cells (not the student's)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("not a notebook: no list of cells")
    return nb


def source_of(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def read_release(path, settings):
    nb = read_json(path)
    solutions = [(c.get("cell_type"), course.meta(_Cell(c))) for c in nb["cells"]]
    answers = {m["grade_id"]: part_name(m["grade_id"]) for kind, m in solutions if kind == "code" and m.get("solution")}
    questions = {m["grade_id"]: part_name(m["grade_id"]) for kind, m in solutions
                 if kind == "markdown" and m.get("solution")}
    code_cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    sources = [source_of(c) for c in code_cells]
    names, prints = set(), set()
    for src in sources:
        raw = raw_tokens(src)
        names |= {v for _, kind, v in raw if kind == "name"}
        toks = normalize(raw, bound_names(src))
        prints |= set(kgram_hashes([t for t, _, _ in toks], settings.k).tolist())
    grams = set()
    for c in nb["cells"]:
        if c.get("cell_type") == "markdown":
            grams |= set(text_grams(source_of(c), settings.ngram))
    stubs = tuple(sorted({source_of(c).strip() for c in nb["cells"]
                          if course.meta(_Cell(c)).get("grade_id") in questions} - {""}))
    outputs = set()
    for c in code_cells:
        outputs |= set(output_traces(c))
    tests = {course.meta(_Cell(c)).get("grade_id") for c in nb["cells"]
             if course.meta(_Cell(c)).get("locked") or course.meta(_Cell(c)).get("grade")}
    return Release(ids=frozenset(c.get("id") for c in nb["cells"] if c.get("id")), code=frozenset(s.strip() for s in sources),
                   names=frozenset(names), prints=frozenset(prints), grams=frozenset(grams), outputs=frozenset(outputs),
                   stubs=stubs, answer_cells=answers, question_cells=questions,
                   test_cells=frozenset(tests - set(answers) - set(questions) - {None}))


class _Cell(dict):
    """A JSON cell with the attribute access course.meta() uses."""

    def __init__(self, cell):
        super().__init__(cell)
        self.metadata = cell.get("metadata") or {}


# ---------------------------------------------------------------- code
_RAW, _BOUND = {}, {}  # memo by source: honest students share many one-liners


TOKEN = re.compile(r"""
    (?P<space>\s+) | (?P<comment>\#[^\n]*)
  | (?P<string>[rRbBuUfF]{0,2}(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<name>[^\W\d]\w*)
  | (?P<number>(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?[jJ]?)
  | (?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%@&|^<>=!]=|\S)
""", re.VERBOSE)


def raw_tokens(source):
    """The tokens of a cell that count: (start, kind, text) with kind "string", "name", "number" or "op"; comments and
    whitespace dropped. One regular expression (Python's own tokenize stops at the first unclosed bracket, and
    Pygments' lexer took 6 times as long: 80 % of the whole run on a class of 400)."""
    if source not in _RAW:
        _RAW[source] = [(m.start(), m.lastgroup, m.group()) for m in TOKEN.finditer(source)
                        if m.lastgroup not in ("space", "comment")]
    return _RAW[source]


ATTRIBUTE_STORE = re.compile(r"(?<![\w.])[^\W\d]\w*\.([^\W\d]\w*)\s*(?://|\*\*|>>|<<|[-+*/%@&|^])?=(?!=)")


MANGLED = re.compile(r"^_[^\W\d]\w*?(__\w+)$")


def bound_names(source):
    """The names a cell binds: assigned variables, parameters, the functions and classes it defines (Python's own
    symbol table), and the attributes it assigns (self.mask = ...). IPython's magics and shell lines are read as
    `pass`; code that does not parse binds every name that is not an attribute (None), so a renamed one still reads
    as the same placeholder."""
    if source in _BOUND:
        return _BOUND[source]
    code = SHELL_LINE.sub(lambda m: m.group(1) + "pass", source)
    try:
        tables = [symtable.symtable(code, "<cell>", "exec")]
    except (SyntaxError, ValueError):
        names = None
    else:
        names = set(ATTRIBUTE_STORE.findall(code))
        while tables:
            table = tables.pop()
            found = [s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_parameter()]
            names.update(MANGLED.sub(r"\1", name) for name in found)  # __x in a class: _Network__x
            tables.extend(table.get_children())
        names = frozenset(names)
    _BOUND[source] = names
    return names


def normalize(raw, bound):
    """(normalized text, start, end) per token: strings as S, bound names as V (all names but attributes when the
    cell does not parse), everything else as written."""
    out, after_dot = [], False
    for pos, kind, value in raw:
        if kind == "string":
            text = "S"
        elif kind == "name" and value not in KEYWORDS and (value in bound if bound is not None else not after_dot):
            text = "V"
        else:
            text = value
        after_dot = value == "."
        out.append((text, pos, pos + len(value)))
    return out


_IDS = {}


def token_ids(texts):
    ids = []
    for t in texts:
        if t not in _IDS:
            _IDS[t] = stable_hash(t)
        ids.append(_IDS[t])
    return np.array(ids, dtype=np.uint64)


def kgram_hashes(texts, k):
    """The hash of each run of k tokens (a polynomial hash over the tokens' own stable hashes)."""
    if len(texts) < k:
        return np.zeros(0, dtype=np.uint64)
    ids = token_ids(texts)
    n = len(ids) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    base = np.uint64(1_000_000_007)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * base + ids[j:j + n]
    return h >> np.uint64(1)


def winnow(hashes, window):
    """MOSS's winnowing: in every window of `window` consecutive hashes, the smallest (the rightmost of equals);
    the positions chosen."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(hashes) <= window:
        return np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))])
    windows = np.lib.stride_tricks.sliding_window_view(hashes, window)
    chosen = np.arange(len(windows)) + window - 1 - np.argmin(windows[:, ::-1], axis=1)
    return np.unique(chosen)


def code_unit(name, source, bound, release, settings):
    unit = Unit(name, source)
    raw = raw_tokens(source)
    unit.tokens = normalize(raw, bound)
    hashes = kgram_hashes([t for t, _, _ in unit.tokens], settings.k)
    for pos in winnow(hashes, settings.window).tolist():
        h = int(hashes[pos])
        if h not in release.prints:
            unit.prints.setdefault(h, []).append(pos)
    if bound is not None:
        for pos, kind, value in raw:
            if kind == "name" and value in bound and value not in release.names and len(value) >= MIN_NAME:
                unit.names.setdefault(value, []).append((pos, pos + len(value)))
    return unit


# ---------------------------------------------------------------- the 思考题 answers
def clauses(text):
    """(start, end) of each clause of a text."""
    start = 0
    for m in CLAUSE.finditer(text):
        if m.start() > start:
            yield start, m.start()
        start = m.end()
    if start < len(text):
        yield start, len(text)


LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def text_grams(text, n):
    """n-gram -> [(start, end)] in `text`: NFKC and lower case, per clause, its letters and digits only."""
    folded = unicodedata.normalize("NFKC", text).lower()
    if len(folded) != len(text):  # a character that NFKC writes as several (a ligature, ①): fold one by one
        folded = "".join(unicodedata.normalize("NFKC", ch).lower()[:1] or " " for ch in text)
    grams = {}
    for a, b in clauses(folded):
        kept = [(m.start(), m.group()) for m in LETTER_OR_DIGIT.finditer(folded, a, b)]
        chars = "".join(ch for _, ch in kept)
        if len(kept) < n:
            if len(kept) >= 2:
                grams.setdefault(chars, []).append((kept[0][0], kept[-1][0] + 1))
            continue
        for j in range(len(kept) - n + 1):
            grams.setdefault(chars[j:j + n], []).append((kept[j][0], kept[j + n - 1][0] + 1))
    return grams


def answer(name, text, release, settings):
    for stub in release.stubs:
        text = text.replace(stub, "")
    grams = {g: spans for g, spans in text_grams(text, settings.ngram).items() if g not in release.grams}
    return Answer(name, text, grams)


# ---------------------------------------------------------------- the notebook's traces
def output_traces(cell):
    """trace feature -> what it is, of one code cell's outputs."""
    found = {}
    for out in cell.get("outputs") or []:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "error":
            message = ANSI.sub("", f"{out.get('ename', '')}: {out.get('evalue', '')}").strip()
            found[("error", message)] = f"错误信息 error: {message}"
            continue
        texts = []
        if kind == "stream":
            texts.append(out.get("text", ""))
        data = out.get("data") or {}
        if isinstance(data, dict):
            texts.append(data.get("text/plain", ""))
            for mime in ("image/png", "image/jpeg", "image/svg+xml"):
                if data.get(mime):
                    blob = data[mime] if isinstance(data[mime], str) else "".join(data[mime])
                    found[("image", stable_hash(blob))] = f"同一张图 the same image ({mime}, {len(blob)} bytes)"
        for text in texts:
            text = "".join(text) if isinstance(text, list) else str(text)
            for line in ANSI.sub("", text).splitlines():
                line = line.strip()
                if digits(line) >= RANDOM_DIGITS:
                    found[("output", line)] = f"同样的输出 output: {line[:160]}"
    return found


def digits(line):
    """The significant digits of a line's decimal numbers (0.5140 holds 3, 0.693147 holds 6): what an unseeded run
    can make differ; a round number or an integer (an index, a shape) says nothing."""
    total = 0
    for number in NUMBER.findall(line):
        mantissa = re.split(r"[eE]", number)[0].replace(".", "").lstrip("0").rstrip("0")
        total += len(mantissa)
    return total


def irregular(run):
    """How many steps of a run of execution counts are not +1 (a cell run again, run out of order, or not run)."""
    return sum(1 for a, b in zip(run, run[1:]) if not a or not b or b != a + 1)


def count_traces(counts):
    """The execution counts of the code cells, in order: the whole sequence, and each run of COUNT_RUN cells, when
    the student ran cells out of order or again (a notebook run from top to bottom counts 1, 2, 3 like every other)."""
    if not any(counts) or not irregular(counts):
        return {}
    found = {("counts", tuple(counts)): "执行编号序列 execution counts: " + " ".join(str(c or "-") for c in counts)}
    for i in range(len(counts) - COUNT_RUN + 1):
        run = tuple(counts[i:i + COUNT_RUN])
        if irregular(run) >= 4 and sum(1 for c in run if c) >= COUNT_RUN // 2:
            found[("count run", run)] = "执行编号 execution counts: " + " ".join(str(c or "-") for c in run)
    return found


# ---------------------------------------------------------------- one submission
def read_submission(student, path, release, settings):
    """The evidence of one submitted notebook; one that cannot be read is returned with its error."""
    sub = Submission(student)
    try:
        nb = read_json(path)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        sub.error = f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
        return sub
    own, answers_src, counts = [], {}, []
    for cell in nb["cells"]:
        if not isinstance(cell, dict):
            continue
        kind, src = cell.get("cell_type"), source_of(cell)
        gid = (cell.get("metadata") or {}).get("nbgrader", {}).get("grade_id") if isinstance(
            (cell.get("metadata") or {}).get("nbgrader"), dict) else None
        cell_id = cell.get("id")
        if isinstance(cell_id, str) and cell_id and cell_id not in release.ids:
            sub.traces[("cell id", cell_id)] = f"不在发布版中的单元 id a cell id not in the release: {cell_id}"
        if kind == "code":
            count = cell.get("execution_count")
            counts.append(count if isinstance(count, int) else 0)
            sub.traces.update({f: what for f, what in output_traces(cell).items() if f not in release.outputs})
            if gid in release.answer_cells:
                answers_src[release.answer_cells[gid]] = src
            elif gid not in release.test_cells and src.strip() and src.strip() not in release.code:
                own.append(src)
        elif kind == "markdown" and gid in release.question_cells:
            sub.answers[release.question_cells[gid]] = answer(release.question_cells[gid], src, release, settings)
    sub.traces.update(count_traces(counts))
    sources = dict(answers_src, **({OWN: "\n\n".join(own)} if own else {}))
    bound = set()
    for src in answers_src.values():
        bound |= bound_names(src) or set()
    for src in own:
        bound |= bound_names(src) or set()
    for name, src in sources.items():
        cell_bound = bound_names(src) if name != OWN else None
        use = None if (name != OWN and cell_bound is None) else bound
        sub.units[name] = code_unit(name, src, use, release, settings)
    return sub
