"""What requirements.txt installs starts fast: nbgrader and every Jupyter client import nbformat, which imports
jsonschema; since jsonschema 4.25 its format checkers import rfc3987_syntax, which builds 38 lark grammars at import
(about 2 s for every nbgrader command, before it does anything). requirements.txt pins the last jsonschema without it."""
import subprocess
import sys


def test_nbformat_does_not_build_jsonschemas_iri_grammars():
    code = ("import sys, importlib.metadata, nbformat; "
            "print(importlib.metadata.version('jsonschema'), 'rfc3987_syntax' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    version, imported = result.stdout.split()
    assert imported == "False", (f"jsonschema {version} imports rfc3987_syntax (2 s per nbgrader command): install "
                                 "requirements.txt, which pins jsonschema==4.24.1")
