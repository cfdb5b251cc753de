"""What a student wrote is untrusted on every page staff open: the Formgrader's grading page, the feedback pages.

nbconvert renders markdown with mistune, which passes raw HTML through, and shows raw cells, HTML outputs and the
notebook's widget state as they are. A submission could run script in a TA's browser at the TA's Jupyter server
(its REST API: the master, the gradebook, a terminal). So every page nbconvert makes from a submission here goes
through an allowlist sanitizer, nh3 (the Rust library ammonia): what is not on the list is dropped.

- clean_html: HTML to HTML with the allowlist: formatting, headings, lists, tables, code, quotes, links (http,
  https, mailto, in-page), images (http, https, relative, and data: PNG/JPEG/GIF only); no script, style, form,
  frame, SVG or MathML element, no event handler, no style attribute; ids get a prefix (no clobbering of the
  page's own elements). Text such as $x<y$ stays text, so MathJax typesets it (with its Safe extension, which
  nbconvert's MathJax configuration loads: no \\href to javascript:, no \\style, \\class or \\cssId).
- markdown2html: nbconvert's markdown rendering (math kept as TeX, attachments as data: URLs), then clean_html.
- SanitizeSubmission: the notebook before rendering: raw cells cleaned, outputs reduced to text and images (as
  the student's kept runs are, grading/student_runs.py), attachments to images, the notebook's metadata to what
  rendering needs, cell tags and nbgrader ids to plain names.

nbgrader_config.py sets the filters and the preprocessor on HTMLExporter: the Formgrader's grading page and the
feedback (FeedbackExporter is one) both use them, and HTMLExporter.sanitize_html makes nbconvert's own templates
call clean_html on raw cells and on HTML and markdown outputs and leave out JavaScript and widgets.
"""
import re

import nh3
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor

from grading.student_runs import safe_outputs

TAGS = set(nh3.ALLOWED_TAGS) - {"map", "area"}  # ammonia's list of inert elements (no image maps)
ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items() if tag in TAGS}
ATTRIBUTES["*"] = {"class", "id", "title", "lang", "dir"}  # class: pygments' highlighting, nbconvert's anchors
ATTRIBUTES["img"] = ATTRIBUTES.get("img", set()) | {"title"}
URL_SCHEMES = {"http", "https", "mailto", "data"}  # data: only as an image (url_ok)
ID_PREFIX = "user-content-"
DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$", re.IGNORECASE)
NOTEBOOK_METADATA = ("kernelspec", "language_info", "nbgrader")
PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}$")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif")


def url_ok(tag, attribute, value):
    """nh3's attribute filter: a data: URL only as an image's source, and only PNG, JPEG or GIF."""
    if attribute in ("href", "src", "cite") and value.strip().lower().startswith("data:"):
        return value if tag == "img" and attribute == "src" and DATA_IMAGE.match(value.strip()) else None
    return value


def clean_html(html):
    """Sanitize an HTML fragment with the course's allowlist (nh3)."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, attribute_filter=url_ok,
                     link_rel="noopener noreferrer nofollow", id_prefix=ID_PREFIX, strip_comments=True)


MISSING = {"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}


class Attachments(dict):
    """A cell's attachments as images only; one that is missing or holds no image is an empty pixel (nbconvert would
    stop rendering the whole page at a name it does not find)."""

    def __contains__(self, name):
        return True

    def __getitem__(self, name):
        images = {m: v for m, v in (self.get(name) or {}).items() if m in IMAGE_MIMES}
        return images or MISSING


@pass_context
def markdown2html(context, source):
    """nbconvert's markdown rendering (math kept as TeX for MathJax, a cell's attachments as data: URLs), then
    clean_html: raw HTML in markdown is the student's, like any other."""
    cell = context.get("cell", {}) or {}
    renderer = IPythonRenderer(escape=False, attachments=Attachments(cell.get("attachments") or {}),
                               path=context.get("resources", {}).get("metadata", {}).get("path", ""))
    return clean_html(MarkdownWithMath(renderer=renderer).render(source))


class SanitizeSubmission(Preprocessor):
    """The notebook as a page may show it: raw cells cleaned, outputs reduced to text and images, attachments to
    images, notebook metadata to what rendering needs, cell tags and nbgrader ids to plain names."""

    def preprocess(self, nb, resources):
        for key in [k for k in nb.metadata if k not in NOTEBOOK_METADATA]:
            del nb.metadata[key]  # widgets' state, a title: the page would show them as they are
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        tags = cell.metadata.get("tags")
        if tags is not None:
            cell.metadata["tags"] = [t for t in tags if isinstance(t, str) and PLAIN_NAME.match(t)]
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and not (isinstance(grade_id, str) and PLAIN_NAME.match(grade_id)):
            del cell.metadata["nbgrader"]  # the templates write it into attributes as it is
        if cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        if "attachments" in cell:
            images = {name: {m: v for m, v in data.items() if m in IMAGE_MIMES} for name, data in cell.attachments.items()}
            cell.attachments = {name: data for name, data in images.items() if data}
        if cell.cell_type == "code":
            cell.outputs = safe_outputs(list(cell.get("outputs", [])))
        return cell, resources


def code_span(text):
    """`text` as one markdown code span, whatever it holds (a student's line of code in a report): a fence of more
    backticks than any run in it, one line, so no markdown and no HTML in it is read as such."""
    text = " ".join(str(text).split("\n"))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"
