"""The Content-Security-Policy of the pages this course writes (the feedback pages, the class report).

A page we write carries its policy in a <meta http-equiv> at the top of its <head>, so a browser applies it before
any content: no inline script and no event handler run, whatever got into the page; no plugin, frame, form or
<base>. Scripts come only from MathJax's CDN (nbconvert's MathJax 2 evaluates its own configuration block, hence
'unsafe-eval'; it runs only once a script from there runs). The sanitizer (grading/sanitize.py) is the first
line: this policy holds if it ever misses something.
"""
import re

MATHJAX = "https://cdnjs.cloudflare.com"
FEEDBACK = ("default-src 'none'; "
            f"script-src {MATHJAX} 'unsafe-eval'; "
            f"style-src 'unsafe-inline' {MATHJAX}; "
            f"font-src data: {MATHJAX}; "
            "img-src data: https:; "
            "object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'")
REPORT = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


def meta(policy):
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def with_policy(page, policy=FEEDBACK):
    """The page with the policy as the first element of its <head>."""
    match = HEAD.search(page)
    if match is None:
        raise ValueError("the page has no <head>: no place for its Content-Security-Policy")
    return page[:match.end()] + "\n" + meta(policy) + page[match.end():]
