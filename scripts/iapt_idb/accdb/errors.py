"""Errors of the .accdb tools. All are user-facing: the CLI prints them without a traceback."""

from __future__ import annotations

from ..errors import UserError


class AccdbError(UserError):
    """A problem with the IDB file, its inputs or the Java tool chain, explained for the user."""


class AccdbStructureError(AccdbError):
    """The .accdb lacks an IDB table or column: the national platform's file rejection IDSREJ001."""

    rule_code = "IDSREJ001"

    def __init__(self, message: str, table: str, column: str | None = None) -> None:
        super().__init__(message)
        self.table = table
        self.column = column
