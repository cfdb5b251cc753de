"""The grading rules: which ops a part's code may run, what the grader records of it, the inputs it is called on,
and what reading the submitted code finds (code the grader cannot read goes to a TA; code that changes the grading
kernel costs every test after it).

One concern per module, each imported normally by the grader:

- allowlists.py: the ops each part may run and the rules' messages (the grader's verdict and the advice's words);
- recorder.py: the recorder of what student code runs (the probe uses it inside the kernel);
- inputs.py: the test inputs built from a spec, alike in the probe, the grader and the advice;
- finding_kinds.py: the kinds of findings in the submitted code, each declared once with its cost, mistake id and texts;
- scanner.py: the reading of one cell's source (what it finds, by kind);
- advice.py: the visible tests' advice, in the student's own kernel.

The notebook's rules cell (grade id lab2_rules) is advice.py with the modules it imports, bundled by
tools/release.py; recorder.py and inputs.py are copied into the grading sandbox for the probe. All of them depend
only on the standard library, torch and (for the scanner) IPython, and import each other relatively.
"""
