"""A submission that tries to run script in a TA's browser: payloads by family, each in the place a student controls.

Every payload, if it runs, appends `|<its id>|` to the page's window.name (the top window's, from a frame too): a
browser test reads window.name after the page has loaded and its javascript: links were clicked. Payloads use
no spaces or parentheses, so one form works in HTML attributes, markdown links and TeX alike. The honest answer
(思考题1) holds what a TA must still see: math, a table, an image and a code block.

Places: markdown (an added cell per payload; 思考题2's answer cell), raw cells, the notebook's and cells' metadata
and attachments, outputs (an added cell that displays them, run fresh under autograde; an experiment cell's kept
outputs, the student's own run).
"""
import base64
import copy
import io
from collections import defaultdict

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

import course
from grading import parts


def js(pid):
    return f"top.name+='|{pid}|'"


def url(pid):
    return f"javascript:{js(pid)};void+0"  # a javascript: URL that returns a string would replace the page


CLOSE = "</style></mglyph></table></mtext></math>"  # an element left open would hide the payloads after it


# family -> [(payload id, markdown/HTML source)]; each goes into an added markdown cell
MARKDOWN = {
    "script": [
        ("script-plain", lambda p: f"<script>{js(p)}</script>"),
        ("script-upper", lambda p: f"<SCRIPT>{js(p)}</SCRIPT>"),
        ("script-data-src", lambda p: f'<script src="data:text/javascript,{js(p)}"></script>'),
        ("script-in-markdown", lambda p: f"**答案**:见下。\n\n<div><script>{js(p)}</script></div>\n"),
    ],
    "handler": [
        ("handler-img-onerror", lambda p: f'<img src="x" onerror="{js(p)}">'),
        ("handler-details-ontoggle", lambda p: f'<details open ontoggle="{js(p)}"><summary>s</summary>d</details>'),
        ("handler-input-autofocus", lambda p: f'<input autofocus onfocus="{js(p)}">'),
        ("handler-video-source", lambda p: f'<video><source onerror="{js(p)}"></video>'),
        ("handler-body-onload", lambda p: f'<body onload="{js(p)}">'),
    ],
    "svg": [
        ("svg-onload", lambda p: f'<svg onload="{js(p)}"></svg>'),
        ("svg-script", lambda p: f"<svg><script>{js(p)}</script></svg>"),
        ("svg-animate-onbegin", lambda p: f'<svg><animate onbegin="{js(p)}" attributeName="x" dur="1s"/></svg>'),
        ("svg-image-onerror", lambda p: f'<svg><image href="x" onerror="{js(p)}"/></svg>'),
    ],
    "iframe": [
        ("iframe-srcdoc-script", lambda p: f'<iframe srcdoc="<script>{js(p)}</script>"></iframe>'),
        ("iframe-srcdoc-img", lambda p: f'<iframe srcdoc="&lt;img src=x onerror=&quot;{js(p)}&quot;&gt;"></iframe>'),
        ("iframe-javascript-src", lambda p: f'<iframe src="{url(p)}"></iframe>'),
    ],
    "mxss": [  # forms known to get past sanitizers that parse once and serialize
        ("mxss-noscript", lambda p: f'<noscript><p title="</noscript><img src=x onerror={js(p)}>">'),
        ("mxss-math-style", lambda p: f"<math><mtext><table><mglyph><style><img src=x onerror={js(p)}>{CLOSE}"),
        ("mxss-svg-style", lambda p: f'<svg></p><style><a id="</style><img src=1 onerror={js(p)}>">'),
        ("mxss-form-math", lambda p: f"<form><math><mtext></form><form><mglyph><style></math><img src onerror={js(p)}>"
                                  f"{CLOSE}</form>"),
        ("mxss-comment", lambda p: f'<!--><img src=x onerror="{js(p)}">-->'),
    ],
    "jsurl": [
        ("jsurl-markdown-link", lambda p: f"[点这里]({url(p)})"),
        ("jsurl-a-href", lambda p: f'<a href="{url(p)}">点这里</a>'),
        ("jsurl-entity", lambda p: f'<a href="&#106;avascript:{js(p)};void+0">点这里</a>'),
        ("jsurl-svg-a", lambda p: f'<svg><a href="{url(p)}"><text y="20">点这里</text></a></svg>'),
    ],
    "math": [  # MathJax must not emit HTML or links that run script (its Safe extension; the TeX stays text)
        ("math-href", lambda p: f"$\\href{{{url(p)}}}{{点这里}}$"),
        ("math-html-in-dollars", lambda p: f'$x<img src=x onerror="{js(p)}">$'),
        ("math-paren-script", lambda p: f"\\(<script>{js(p)}</script>\\)"),
        ("math-display-style", lambda p: f"$$\\style{{background:url({url(p)})}}{{x}}$$"),
    ],
}
RAW = [  # raw cells, shown as they are by nbconvert when their mimetype is HTML's
    ("raw-html-script", {"raw_mimetype": "text/html"}, lambda p: f"<script>{js(p)}</script>"),
    ("raw-html-img", {"raw_mimetype": "text/html"}, lambda p: f'<img src="x" onerror="{js(p)}">'),
    ("raw-no-mimetype", {}, lambda p: f'<img src="x" onerror="{js(p)}">'),
]
OUTPUT = [  # mime -> payload: shown by an added cell (run fresh) and kept in an experiment cell (the student's run)
    ("output-markdown", "text/markdown", lambda p: f'<img src="x" onerror="{js(p)}">'),
    ("output-html", "text/html", lambda p: f'<img src="x" onerror="{js(p)}">'),
    ("output-javascript", "application/javascript", js),
    ("output-svg", "image/svg+xml", lambda p: f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js(p)}"/>'),
]
METADATA = ("metadata-title", "metadata-widgets", "metadata-cell-tag", "metadata-attachment")


def families():
    """family -> payload ids."""
    out = defaultdict(list)
    for family, payloads in MARKDOWN.items():
        out[family] += [pid for pid, _ in payloads]
    out["raw"] = [pid for pid, _, _ in RAW]
    out["metadata"] = list(METADATA)
    out["output"] = [f"{pid}-{where}" for pid, _, _ in OUTPUT for where in ("fresh", "kept")]
    return dict(out)


def png():
    """A small real PNG (a line plot), for the honest answer."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2), dpi=60)
    ax.plot([0, 1, 2, 3], [0, 1, 0.5, 2])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def honest_answer():
    return ("Sigmoid 的导数是 $\\sigma'(x)=\\sigma(x)\\,(1-\\sigma(x))$,最大值 $\\frac{1}{4}$:\n\n"
            "$$\\frac{\\partial L}{\\partial W_1}=\\prod_{l} \\sigma'(z_l)\\,W_l$$\n\n"
            "| 激活函数 | 第一层梯度 |\n| --- | --- |\n| Sigmoid | 1e-6 |\n| ReLU | 1e-2 |\n\n"
            f"![梯度]( data:image/png;base64,{png()} )\n\n"
            "```python\ndef sigmoid_grad(s):\n    return s * (1 - s)\n```\n")


def submission(release_nb, answers):
    """The release with `answers` filled in (a complete solution), the honest 思考题1, and every payload."""
    from tools import submissions
    first, second = (q.answer for q in parts.QUESTIONS[:2])  # 思考题1 and 2's answer cells
    nb = submissions.fill(release_nb, {**answers, first: honest_answer(),
                                       second: MARKDOWN["script"][3][1]("script-in-markdown")})
    added = [new_markdown_cell(f"payload {pid}:\n\n{make(pid)}\n") for family, payloads in MARKDOWN.items()
             for pid, make in payloads if pid != "script-in-markdown"]
    added += [new_raw_cell(make(pid), metadata=dict(meta)) for pid, meta, make in RAW]
    evil = base64.b64encode(f"<script>{js('metadata-attachment')}</script>".encode()).decode()
    attached = new_markdown_cell("![a](attachment:evil.html) [b](attachment:evil.html)", attachments={
        "evil.html": {"text/html": evil}})
    tagged = new_markdown_cell("tagged", metadata={"tags": [f'x"><img src=x onerror="{js("metadata-cell-tag")}">']})
    shows = "from IPython.display import display\n" + "".join(
        f"display({{{mime!r}: {make(pid + '-fresh')!r}, 'text/plain': 'x'}}, raw=True)\n" for pid, mime, make in OUTPUT)
    added += [attached, tagged, new_code_cell(shows)]
    nb.cells += added
    experiment = next(c for c in nb.cells if course.EXPERIMENT in c.metadata.get("tags", []))
    experiment.outputs = [nbformat.v4.new_output("display_data", data={mime: make(pid + "-kept"), "text/plain": "x"})
                          for pid, mime, make in OUTPUT]
    nb.metadata["title"] = f"</title><script>{js('metadata-title')}</script>"
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": {"x": f"</script><script>{js('metadata-widgets')}</script>"}}}
    return copy.deepcopy(nb)
