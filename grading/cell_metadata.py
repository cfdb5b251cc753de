"""nbgrader's CheckCellMetadata, its JSON schema compiled once per process.

nbgrader's validator calls jsonschema.validate() for every cell's nbgrader metadata, and jsonschema.validate checks
the schema itself before each use: 90% of CheckCellMetadata's time, which runs twice per notebook (0.07 s of a
submission's 1.2 s on the build machine). Here the schema is checked once, when the first notebook is validated,
and each cell is validated by the compiled validator. The checks, their order, their log lines and their errors are
nbgrader's (tests/test_cell_metadata.py compares the two on broken notebooks).
"""
import traceback

from jsonschema import exceptions, validators
from nbgrader.nbgraderformat import ValidationError, common, v3
from nbgrader.preprocessors import CheckCellMetadata as NbgraderCheckCellMetadata

_COMPILED = {}  # schema_version -> the validator jsonschema.validate would build for nbgrader's schema


class _CompiledSchema(common.BaseMetadataValidator):
    """BaseMetadataValidator.validate_cell: jsonschema.validate's work, with the schema's own check done once."""

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise common.SchemaTooOldError(f"Outdated schema version: {schema} (expected {self.schema_version})",
                                           schema, self.schema_version)
        if schema > self.schema_version:
            raise common.SchemaTooNewError(f"Schema version is too new: {schema} (expected {self.schema_version})",
                                           schema, self.schema_version)
        if self.schema_version not in _COMPILED:
            cls = validators.validator_for(self.schema)
            cls.check_schema(self.schema)
            _COMPILED[self.schema_version] = cls(self.schema)
        error = exceptions.best_match(_COMPILED[self.schema_version].iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class MetadataValidator(v3.MetadataValidatorV3, _CompiledSchema):
    """nbgrader's MetadataValidatorV3 (its own checks of each cell and of the notebook), over the compiled schema."""


class CheckCellMetadata(NbgraderCheckCellMetadata):
    """nbgrader's CheckCellMetadata.preprocess, with the validator above."""

    def preprocess(self, nb, resources):
        try:
            MetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources
