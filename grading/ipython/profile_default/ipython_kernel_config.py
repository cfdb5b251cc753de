# The grading kernels' IPython (nbgrader autograde and validate; grading/jupyter/kernels/ copies this folder into each
# kernel's private folder). Tracebacks in the plain form: IPython's default ("Context") reads every frame's module
# and source with pygments' colours, about 60 ms per failing cell with torch loaded, 12 ms plain (benchmarks/
# README.md). A test cell keeps only the error's name and message anyway (grading/outputs.py); another cell keeps
# the plain traceback, which names each cell, line and statement as before.
c = get_config()  # noqa: F821
c.InteractiveShell.xmode = "Plain"
