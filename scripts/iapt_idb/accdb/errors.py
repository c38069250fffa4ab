"""Errors of the .accdb tools. All are user-facing: the CLI prints them without a traceback."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InternalError, UserError
from ..paths import IDB_TEMPLATE_ENV, idb_template

# What a Java library's message might quote of a value: quoted text, dates and times, long digit runs, and
# anything shaped like a UK postcode.
_VALUE_LIKE = re.compile(r"'[^']*'|\"[^\"]*\"|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T][\d:.]+)?|\d{5,}"
                         r"|\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", re.IGNORECASE)


def mask_values(text: str) -> str:
    """``text`` (a Java library's message) with everything that could be a value (patient data) masked."""
    return _VALUE_LIKE.sub("<value>", text)


class AccdbError(UserError):
    """A problem with the IDB file, its inputs or the Java tool chain, explained for the user."""


def require_template(template: Path | str) -> Path:
    """The official empty IDB given with --template or IAPT_IDB_TEMPLATE, which must be a file (AccdbError,
    exit 2, saying where the path came from)."""
    template = Path(template)
    if not template.is_file():
        where = f" (set by {IDB_TEMPLATE_ENV})" if idb_template() == template else ""
        raise AccdbError(f"template {template}{where}: no such file; give the official empty IAPT v2.1 IDB "
                         "(.accdb) from TRUD")
    return template


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
