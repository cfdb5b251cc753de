"""The sanitizer (grading/sanitize.py) as the course's config sets it on nbconvert's HTMLExporter, on the payload corpus
of tests/xss_corpus.py, read back with an HTML parser: no script of the content's, no event handler, no javascript:
URL, no frame, SVG, MathML or form; the honest answer keeps its math (as TeX), table, image and code. The same page
from plain nbconvert has them all (the check can fail). Fast: no browser (tests/test_xss_browser.py runs one)."""
import copy
import os

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from traitlets.config import PyFileConfigLoader

import xss_corpus
from conftest import RELEASE_NB, SOURCE_NB
from tools import submissions
from course import ROOT
from grading import csp, sanitize

ACTIVE = ("iframe", "frame", "object", "embed", "svg", "math", "form", "input", "button", "textarea", "base", "meta",
          "link", "noscript")


@pytest.fixture(scope="module")
def nb():
    source = nbformat.read(str(SOURCE_NB), as_version=4)
    return xss_corpus.submission(nbformat.read(str(RELEASE_NB), as_version=4), submissions.solutions(source))


@pytest.fixture(scope="module")
def course_config():
    env = dict(os.environ)  # nbgrader_config.py sets IPYTHONDIR for nbgrader's kernels: not for this process
    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    finally:
        os.environ.clear()
        os.environ.update(env)


@pytest.fixture(scope="module")
def sanitized(nb, course_config):
    return HTMLExporter(config=course_config, template_name="classic").from_notebook_node(copy.deepcopy(nb))[0]


def content(page):
    """The notebook's part of a page: nbconvert's cells (the template's own head and scripts left out)."""
    soup = BeautifulSoup(page, "html.parser")
    return soup.select("#notebook-container")[0]


def problems(root):
    found = []
    for el in root.find_all(True):
        if el.name == "script" or el.name in ACTIVE:
            found.append(f"<{el.name}>")
        for attr, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            if attr.lower().startswith("on"):
                found.append(f"{el.name}[{attr}]")
            if attr.lower() in ("href", "src", "xlink:href", "action", "formaction", "srcdoc", "data") and \
                    ("javascript:" in value.lower().replace(" ", "") or value.lower().startswith("data:text")):
                found.append(f"{el.name}[{attr}={value[:40]}]")
    return found


def test_the_course_config_leaves_no_active_content(nb, sanitized):
    assert problems(content(sanitized)) == []
    plain, _ = HTMLExporter(template_name="classic").from_notebook_node(copy.deepcopy(nb))
    found = problems(content(plain))
    for what in ("<script>", "img[onerror]", "<iframe>", "<svg>", "a[href=javascript:", "details[ontoggle]"):
        assert any(f.startswith(what) for f in found), (what, found)  # plain nbconvert: the check fails


def test_the_honest_answer_keeps_what_a_ta_reads(sanitized):
    root = content(sanitized)
    table = [t for t in root.find_all("table") if "第一层梯度" in t.text]
    assert table and "Sigmoid" in table[0].text
    assert [i for i in root.find_all("img") if i.get("alt") == "梯度" and i["src"].startswith("data:image/png;base64,")]
    assert [p for p in root.find_all("pre") if "sigmoid_grad" in p.text]
    assert "\\frac{\\partial L}{\\partial W_1}" in root.text and "$\\sigma'(x)" in root.text  # TeX for MathJax


def test_allowlist():
    clean = sanitize.clean_html
    assert clean('<a href="javascript:alert(1)">x</a>') == '<a rel="noopener noreferrer nofollow">x</a>'
    assert clean('<img src="data:image/svg+xml;base64,AAAA">') == "<img>"
    assert clean('<img src="data:image/png;base64,iVBORw0KGgo=">') == '<img src="data:image/png;base64,iVBORw0KGgo=">'
    assert clean('<h2 id="q1_answer">x</h2>') == f'<h2 id="{sanitize.ID_PREFIX}q1_answer">x</h2>'  # no clobbering
    assert clean('<table><tr><td style="position:fixed" colspan="2">a</td></tr></table>') == \
        '<table><tbody><tr><td colspan="2">a</td></tr></tbody></table>'  # no style: nothing laid over the page
    assert clean("<script>alert(1)</script>ok<style>*{}</style>") == "ok"


def test_a_missing_attachment_is_an_empty_image_not_a_broken_page(course_config):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("![x](attachment:nothere.png) text")])
    page, _ = HTMLExporter(config=course_config, template_name="classic").from_notebook_node(nb)
    assert "text" in content(page).text


def test_code_span_holds_anything():
    assert sanitize.code_span("x = 1") == "`x = 1`"
    assert sanitize.code_span("a ` b") == "``a ` b``"
    assert sanitize.code_span("`x`") == "`` `x` ``"
    assert "\n" not in sanitize.code_span("a\n<img src=x onerror=alert(1)>")


def test_policy_goes_first_in_head():
    page = csp.with_policy("<html><head><script src=x></script></head><body></body></html>")
    assert page.index("Content-Security-Policy") < page.index("<script")
    assert "script-src https://cdnjs.cloudflare.com 'unsafe-eval';" in page and "'unsafe-inline'" not in \
        csp.FEEDBACK.split("script-src")[1].split(";")[0]
    with pytest.raises(ValueError):
        csp.with_policy("<p>no head</p>")


def test_mathjax_loads_its_safe_extension_on_nbgraders_pages():
    """The grading page and the feedback load MathJax through nbconvert's macro with its default URL, whose config
    loads MathJax's Safe extension (no \\href to javascript:, no \\style, \\class, \\cssId or \\require of other
    extensions): checked here so that a new nbconvert or nbgrader that changes either fails loudly."""
    import re
    from pathlib import Path

    import nbgrader
    from jupyter_core.paths import jupyter_path
    macro = next(Path(p) / "nbconvert" / "templates" / "base" / "mathjax.html.j2" for p in jupyter_path()
                 if (Path(p) / "nbconvert" / "templates" / "base" / "mathjax.html.j2").exists())
    url = re.search(r'macro mathjax\(url="([^"]+)"', macro.read_text(encoding="utf-8")).group(1)
    assert url.endswith(",Safe") and "mathjax/2." in url, url
    templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
    for page in ("formgrade", "feedback"):
        text = (templates / page / "index.html.j2").read_text(encoding="utf-8")
        assert "{{ mathjax() }}" in text, page  # the default URL, with Safe
