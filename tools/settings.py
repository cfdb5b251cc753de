"""The grading limits are nbgrader settings: the traits of grading.safe_execute.SafeExecute (and zip_collect's budgets,
the traits of grading.zip_budget.BudgetedExtractor; the similarity report's, the traits of tools.similarity.Similarity,
also on its own command line: python tools/similarity.py --threshold 0.7), set in
nbgrader_config.py (c.SafeExecute.<name> = ...), on nbgrader's command line (--SafeExecute.<name>=...), or by
the environment variable their trait names (its `env`). This prints them with their help and defaults.

    python tools/settings.py              # every setting, its default and its help
    python tools/settings.py --markdown   # the README's table (tests/test_settings.py checks it is the same)

(`nbgrader autograde --help-all` lists only nbgrader's own classes: it prints its help before it reads any
nbgrader_config.py, so it cannot know the course's preprocessors.)
"""
if __name__ == "__main__" and not __package__:  # a script: this checkout's course and grading first
    import _checkout  # noqa: F401  (tools/_checkout.py)

import argparse
import os
from unittest import mock

from grading.safe_execute import SafeExecute
from grading.zip_budget import BudgetedExtractor
from tools.similarity import Similarity

CLASSES = (SafeExecute, BudgetedExtractor, Similarity)  # autograde's limits; zip_collect's budgets; the similarity report


def settings(cls=SafeExecute):
    """(name, default, environment variable or '', help) of every setting, the defaults with no LAB2_* set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAB2_")}
    with mock.patch.dict(os.environ, clean, clear=True):
        defaults = cls()
    rows = []
    for name, trait in sorted(cls.class_own_traits(config=True).items()):
        help_text = " ".join(trait.help.split())
        rows.append((name, getattr(defaults, name), trait.metadata.get("env", ""), help_text))
    return rows


def markdown():
    tables = []
    for cls in CLASSES:
        lines = [f"| setting (`c.{cls.__name__}.…`) | default | environment | what it does |", "| --- | --- | --- | --- |"]
        for name, default, env, help_text in settings(cls):
            what = help_text
            lines.append(f"| `{name}` | {'auto' if default is None else default} | {f'`{env}`' if env else ''} | {what} |")
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true", help="the README's table")
    if parser.parse_args().markdown:
        print(markdown())
        return
    for cls in CLASSES:
        for name, default, env, help_text in settings(cls):
            print(f"--{cls.__name__}.{name}=<{type(default).__name__}>  (default: {default})")
            print(f"    {help_text}" + (f" (environment: ${env})" if env else "") + "\n")


if __name__ == "__main__":
    main()
