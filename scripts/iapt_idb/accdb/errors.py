"""Errors of the .accdb tools. All are user-facing: the CLI prints them without a traceback."""

from __future__ import annotations

from ..errors import InternalError, UserError


class AccdbError(UserError):
    """A problem with the IDB file, its inputs or the Java tool chain, explained for the user."""


class AccdbStructureError(AccdbError):
    """The .accdb's structure is not the IDB's (a table or column missing or extra, a column of another type or
    size): the national platform's file rejection IDSREJ001."""

    rule_code = "IDSREJ001"

    def __init__(self, message: str, table: str, column: str | None = None) -> None:
        super().__init__(message)
        self.table = table
        self.column = column


class AccdbInternalError(InternalError):
    """A bug in a .accdb step's child process (its message names the step and the exception's kind, never its
    text): not a problem with the file or its inputs, so not an AccdbError (which callers may turn into
    "the platform cannot read this file")."""
