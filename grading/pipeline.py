"""Autograde's two preprocessor chains, written once: nbgrader_config.py sets them, and the merge pass of
tools/autograde_parallel.py runs them without the steps that change the notebook (the workers ran those: they
cleared and executed it, so the merge only checks it and stores its grades)."""

# (preprocessor, whether the merge pass runs it too)
SANITIZE = (  # autograde's first step: the submission as it will be graded
    ("grading.student_runs.KeepStudentRuns", False),  # clears the outputs, but the experiments' (the student's run)
    ("nbgrader.preprocessors.DeduplicateIds", True),
    ("nbgrader.preprocessors.OverwriteKernelspec", True),
    ("nbgrader.preprocessors.OverwriteCells", True),
    ("nbgrader.preprocessors.CheckCellMetadata", True),
)
AUTOGRADE = (  # the second: run it, decide the points outside the kernel, store them
    ("grading.safe_execute.SafeExecute", False),
    ("nbgrader.preprocessors.IgnorePattern", False),
    ("nbconvert.preprocessors.ClearMetadataPreprocessor", False),
    ("nbgrader.preprocessors.LimitOutput", False),
    ("grading.rubrics.SaveAutoGradesAndRubrics", True),
    ("nbgrader.preprocessors.AssignLatePenalties", True),
    ("nbgrader.preprocessors.CheckCellMetadata", True),
)


def chain(steps, merge=False):
    """The preprocessors' dotted names, as nbgrader's configuration takes them (the merge pass: only its own)."""
    return [name for name, in_merge in steps if in_merge or not merge]


def merge_flags():
    """nbgrader autograde's command-line flags for the merge pass."""
    return ([f"--Autograde.sanitize_preprocessors={name}" for name in chain(SANITIZE, merge=True)]
            + [f"--Autograde.autograde_preprocessors={name}" for name in chain(AUTOGRADE, merge=True)])
