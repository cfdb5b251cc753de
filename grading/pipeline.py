"""Autograde's two preprocessor chains, written once, for nbgrader_config.py."""

SANITIZE = (  # autograde's first step: the submission as it will be graded
    "grading.student_runs.KeepStudentRuns",  # clears the outputs, but the experiments' (the student's run)
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "grading.cell_metadata.CheckCellMetadata",  # nbgrader's, its schema compiled once
)
AUTOGRADE = (  # the second: run it, decide the points outside the kernel, store them
    "grading.safe_execute.SafeExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "grading.rubrics.SaveAutoGradesAndRubrics",
    "nbgrader.preprocessors.AssignLatePenalties",
    "grading.cell_metadata.CheckCellMetadata",  # nbgrader's, its schema compiled once
)
