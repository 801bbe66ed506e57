"""Inputs: find, read, stage and validate an input folder against the contract
(docs/data-contract.md) and return typed frames.

Rooms: ``contract`` (the tables and their rules), ``sources`` (finding and reading files),
``staging`` (files into DuckDB, the sales fast path), ``checks`` (values, keys, references),
``plausibility`` (warnings on valid but implausible values), ``load`` (orchestration and the
typed result), ``postgres`` (the input tables read from a PostgreSQL database, then ``load``).
"""

from safestock.pipelines.inputs.contract import (
    DataQualityNote,
    InputValidationError,
    ValidationIssue,
)
from safestock.pipelines.inputs.load import LoadedInputs, check_input_structure, load_inputs

__all__ = ["DataQualityNote", "InputValidationError", "LoadedInputs", "ValidationIssue", "check_input_structure",
           "load_inputs"]
