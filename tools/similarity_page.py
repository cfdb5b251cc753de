"""The similarity report's page (similarity_report.html), for the TA: ranked pairs, groups of three or more, and each
flagged pair side by side with what the two share marked, for the code and for the 思考题 answers, as MOSS's match
view does.

Everything a student wrote (code, answers, outputs, error messages, cell ids, even the folder names that are their
ids) is escaped and goes through the course's allowlist sanitizer (grading/sanitize.py) before it is on the page, and
the page carries the course's Content-Security-Policy for reports (grading/csp.py: no script runs, nothing is
loaded from elsewhere): it opens offline, in any staff browser.
"""
import html
import os
from pathlib import Path

import course
from grading import csp, sanitize

VERDICT = ("相似只是值得查看的理由,不是结论:请打开两份作业,对照下面标出的相同之处,自己判断。"
           "A match is a reason to look, not a verdict.")
UNIT_TITLES = {"own": "自己添加的代码单元 own cells"}
STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2em;
max-width:90em;line-height:1.5;color:#222}
table{border-collapse:collapse;margin:.8em 0}td,th{border:1px solid #ccc;padding:.25em .55em;text-align:left;
vertical-align:top}th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{border-left:.4em solid #c77c02;background:#fff6e5;padding:.6em 1em;font-size:1.05em}
.side{display:grid;grid-template-columns:1fr 1fr;gap:.8em;margin:.4em 0 1.2em}
.side>div{min-width:0}.side h5{margin:.2em 0;font-size:.95em}
pre{background:#fafafa;border:1px solid #ddd;padding:.5em;overflow-x:auto;font-size:.85em;margin:0;white-space:pre-wrap}
.answer{background:#fafafa;border:1px solid #ddd;padding:.5em;white-space:pre-wrap}
mark{background:#ffd54d;padding:0}mark.common{background:#fff0b3}
.pair{border-top:2px solid #999;margin-top:2em;padding-top:.5em}.muted{color:#666;font-size:.9em}
.bar{display:inline-block;white-space:nowrap;height:.7em;background:#c44e52;vertical-align:middle;margin-right:.3em}
"""


def clean(fragment):
    """A fragment of the page that holds what a student wrote: escaped by the caller, then the course's sanitizer."""
    return sanitize.clean_html(fragment)


def esc(text):
    return clean(html.escape(str(text)))


def marked(text, spans, common=frozenset()):
    """`text` escaped, the (start, end) spans in <mark> (overlaps merged; light where every span merged is in
    `common`), then sanitized."""
    merged = []
    for start, end in sorted(spans):
        light = (start, end) in common
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = merged[-1][2] and light
        else:
            merged.append([start, end, light])
    out, at = [], 0
    for start, end, light in merged:
        out.append(html.escape(text[at:start]))
        attr = ' class="common"' if light else ""
        out.append(f"<mark{attr}>{html.escape(text[start:end])}</mark>")
        at = end
    out.append(html.escape(text[at:]))
    return clean("".join(out))


def code_spans(unit, features, k):
    """The character spans of a unit's code that its shared features cover: each of the k tokens of a fingerprint
    (what lies between two tokens, a comment, is not marked unless it is only spaces), each use of a shared name."""
    covered = set()
    spans = []
    for f in features:
        if isinstance(f, tuple):
            spans += unit.names.get(f[1], [])
        else:
            for pos in unit.prints.get(f, []):
                covered.update(range(pos, min(pos + k, len(unit.tokens))))
    run = None
    for i in sorted(covered):
        _, start, end = unit.tokens[i]
        if run and i == run[2] + 1 and not unit.source[run[1]:start].strip():
            run = [run[0], end, i]
        else:
            if run:
                spans.append((run[0], run[1]))
            run = [start, end, i]
    if run:
        spans.append((run[0], run[1]))
    return spans


def bar(value):
    return f'<span style="white-space:nowrap"><span class="bar" style="width:{value * 4:.2f}em"></span>{value:.2f}</span>'


def link(folder, student):
    path = os.path.relpath(course.submitted_nb(folder, student), folder)
    return f'<a href="{html.escape(Path(path).as_posix())}">{esc(student)}</a>'


def table(head, rows, numeric=()):
    cells = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def unit_title(name):
    return UNIT_TITLES.get(name, f"{name} 的答案单元 answer cell")


def pair_view(n, pair, subs, result, folder):
    """One flagged pair: its evidence, then each shared part and answer side by side."""
    a, b = subs[pair.a], subs[pair.b]
    settings = result.settings
    out = [f'<section class="pair" id="pair-{n}"><h3>#{n} {link(folder, pair.a)} ~ {link(folder, pair.b)}: '
           f"{pair.score:.2f}</h3>",
           f"<p>代码 code {pair.code:.2f} · 思考题 answers {pair.answers:.2f} (cosine {pair.cosine:.2f}, "
           f"班级中位数 class median {result.baseline:.2f}) · 笔记本痕迹 traces {pair.traces:.2f}</p>"]
    if pair.names:
        out.append("<p>两人都用了的少见名字 rare names both bound: " + ", ".join(
            f"<code>{esc(name)}</code>" for name in pair.names[:30]) + "</p>")
    units = [u for u in pair.units if u[2] >= 0.05][:4]
    if units:
        out.append("<h4>代码 code</h4>")
    for ua, ub, score, features in units:
        out.append(f"<p class='muted'>{esc(unit_title(ua))}" + ("" if ua == ub else f" ↔ {esc(unit_title(ub))}") +
                   f": {score:.2f}, {len(features)} 个共有的少见特征 rare features shared</p>")
        out.append('<div class="side">' + "".join(
            f"<div><h5>{esc(who)}</h5><pre>{marked(sub.units[u].source, code_spans(sub.units[u], features, settings.k))}"
            "</pre></div>" for who, sub, u in ((pair.a, a, ua), (pair.b, b, ub))) + "</div>")
    questions = [(q, c) for q, c in pair.questions if c >= 0.3]
    if questions:
        out.append("<h4>思考题 answers</h4><p class='muted'>深色:全班少于一半的人写了的字串;"
                   "浅色:很多人都写的。dark: n-grams fewer than half the class wrote; light: common ones.</p>")
    for q, cosine in questions:
        qa, qb = a.answers[q], b.answers[q]
        shared = set(qa.grams) & set(qb.grams)
        out.append(f"<p class='muted'>{esc(q)}: cosine {cosine:.2f}</p><div class='side'>")
        for who, ans in ((pair.a, qa), (pair.b, qb)):
            spans = [span for g in shared for span in ans.grams[g]]
            common = {span for g in shared if result.text_df.get(g, 0) > len(result.students) / 2 for span in ans.grams[g]}
            out.append(f"<div><h5>{esc(who)}</h5><div class='answer'>{marked(ans.text, spans, common)}</div></div>")
        out.append("</div>")
    if pair.shared_traces:
        out.append("<h4>笔记本痕迹 traces (只有两人共有 shared by these two, or by few)</h4><ul>" + "".join(
            f"<li>{esc(what)}" + ("" if w >= 1 else f" <span class='muted'>(共 {round(1 / w) + 1} 人 students)</span>")
            + "</li>" for what, w in pair.shared_traces[:25]) + "</ul>")
        if len(pair.shared_traces) > 25:
            out.append(f"<p class='muted'>… {len(pair.shared_traces) - 25} more</p>")
    out.append("</section>")
    return "".join(out)


def page(result, subs, folder="."):
    settings = result.settings
    index = {id(p): n for n, p in enumerate(result.flagged, 1)}
    group_of = {s: g for g, members in enumerate(result.groups, 1) for s in members}

    def row(p, n=None):
        anchor = f'<a href="#pair-{n}">{n}</a>' if n else ""
        return (anchor, link(folder, p.a), link(folder, p.b), f"{p.score:.2f}", bar(p.code), bar(p.answers),
                bar(p.traces), esc(", ".join(p.parts)), esc(", ".join(q for q, c in p.questions if c >= 0.5)),
                esc(group_of.get(p.a, "") if group_of.get(p.a) == group_of.get(p.b) else ""))
    head = ["#", "学生 A", "学生 B", "score", "代码 code", "思考题 answers", "痕迹 traces", "部分 parts",
            "题 questions", "组 group"]
    below = result.pairs[len(result.flagged):len(result.flagged) + 20]
    sections = [
        "<h1>实验二 相似度报告 / similarity report</h1>",
        f'<p class="verdict">{html.escape(VERDICT)}</p>',
        f"<p>比较了 {len(result.students)} 份作业 submissions compared; {result.candidates} 对候选 candidate pairs "
        f"scored; <b>{len(result.flagged)}</b> 对达到阈值 flagged (score ≥ {settings.threshold:g}); "
        f"{len(result.groups)} 个三人以上的组 groups of three or more. "
        f"设置 settings: threshold {settings.threshold:g}, max_share {settings.max_share}, min_passage "
        f"{settings.min_passage:g}, name_weight {settings.name_weight:g}, k {settings.k}, window {settings.window}, "
        f"ngram {settings.ngram} (<code>python tools/settings.py</code>).</p>",
        "<h2>怎么读 How to read</h2><ul>"
        "<li><b>代码 code</b>:每个部分的答案单元和自己加的代码单元,改名、改注释不影响;发布版的代码和超过 "
        f"{settings.max_share} 人共有的写法不算。1 表示一方这一部分的少见写法全在另一方那里。"
        "Each part's answer cell and the student's own cells, renaming and comments ignored; the release's code "
        f"and whatever more than {settings.max_share} students share count for nothing.</li>"
        "<li><b>思考题 answers</b>:五道题合在一起的字符 n-gram,按全班的少见程度加权;0 表示和班级中位数一样相似,"
        "1 表示相同。Character n-grams of all five answers, weighted by rarity in the class; 0 is the class's "
        "median pair, 1 the same text.</li>"
        "<li><b>痕迹 traces</b>:不在发布版里的单元 id、没设随机种子的运行输出、图片、错误信息、执行编号——诚实的同学"
        "不会相同。Cell ids not in the release, outputs of unseeded runs, images, error messages, execution "
        "counts: honest students never share them.</li>"
        "<li>标黄的是两人共有的部分。Marked: what the two share.</li></ul>",
    ]
    if result.groups:
        sections.append("<h2>三人以上的组 Groups of three or more</h2>" + table(
            ["组 group", "学生 students"], [(g, ", ".join(link(folder, s) for s in members))
                                          for g, members in enumerate(result.groups, 1)]))
    sections.append("<h2>达到阈值的对 Flagged pairs</h2>" + (table(head, [row(p, index[id(p)]) for p in result.flagged])
                                                     if result.flagged else "<p>没有 none.</p>"))
    if below:
        sections.append("<h2>阈值以下最相似的对 The closest pairs below the threshold</h2>" +
                        table(head, [row(p) for p in below]))
    if result.unreadable:
        sections.append("<h2>没有比较的作业 Not compared</h2>" + table(
            ["学生 student", "原因 why"], [(esc(s), esc(why)) for s, why in sorted(result.unreadable.items())]))
    sections += [pair_view(n, p, subs, result, folder) for n, p in enumerate(result.flagged, 1)]
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">{csp.meta(csp.REPORT)}'
            f"<title>相似度报告 similarity report</title><style>{STYLE}</style></head><body>{''.join(sections)}"
            "</body></html>")
