"""The physical structure of an IDB file: Access column types and text sizes, and how they compare.

The spec (reference/spec/idb_schema.csv) gives logical types; this module maps them to the Access
types the writer creates when there is no official template, and compares any file's structure
(from Jackcess, or from UCanAccess's information_schema) with the spec. One place to change the
mapping if the official IDB's physical types turn out different.
"""

from __future__ import annotations

import hashlib
from collections import namedtuple
from dataclasses import asdict, dataclass

from ..spec import load_tables

# Logical type (spec) -> Jackcess DataType created when there is no template.
SPEC_TO_ACCESS = {"string": "TEXT", "date": "SHORT_DATE_TIME", "time": "SHORT_DATE_TIME",
                  "datetime": "SHORT_DATE_TIME", "integer": "LONG"}

# Jackcess DataType -> what Microsoft Access calls it (for people reading `iapt-idb structure`).
ACCESS_LABEL = {
    "TEXT": "Short Text", "MEMO": "Long Text", "LONG": "Number (Long Integer)", "INT": "Number (Integer)",
    "BYTE": "Number (Byte)", "DOUBLE": "Number (Double)", "FLOAT": "Number (Single)",
    "NUMERIC": "Number (Decimal)", "MONEY": "Currency", "SHORT_DATE_TIME": "Date/Time",
    "EXT_DATE_TIME": "Date/Time Extended", "BOOLEAN": "Yes/No", "GUID": "Replication ID",
    "BIG_INT": "Large Number", "OLE": "OLE Object", "COMPLEX_TYPE": "Attachment/Multi-value",
}

# Integer ranges of the Access Number sub-types (Jackcess narrows silently, so we check first).
INT_RANGE = {"BYTE": (0, 255), "INT": (-32768, 32767), "LONG": (-2147483648, 2147483647)}

# Physical types the writer can fill for each logical type (template mode may use any of these).
WRITABLE = {
    "string": {"TEXT", "MEMO"},
    "integer": {"LONG", "INT", "BYTE", "DOUBLE", "TEXT", "MEMO"},
    "date": {"SHORT_DATE_TIME", "TEXT"},
    "time": {"SHORT_DATE_TIME", "TEXT"},
    "datetime": {"SHORT_DATE_TIME", "TEXT"},
}

# UCanAccess 4.0.4 (HSQLDB) information_schema DATA_TYPE of the spec's physical types.
SPEC_UCANACCESS_TYPE = {"TEXT": "CHARACTER VARYING", "SHORT_DATE_TIME": "TIMESTAMP", "LONG": "INTEGER"}

# UCanAccess 4.0.4 information_schema DATA_TYPE -> what Microsoft Access calls the column's type (measured
# for these; any other is shown as UCanAccess names it). A Long Text (Memo) column is CHARACTER VARYING of
# length 16777216.
UCANACCESS_LABEL = {"CHARACTER VARYING": "Short Text", "INTEGER": "Number (Long Integer)",
                    "SMALLINT": "Number (Integer)", "DOUBLE PRECISION": "Number (Double)",
                    "NUMERIC": "Number (Decimal)", "TIMESTAMP": "Date/Time", "BOOLEAN": "Yes/No"}
MEMO_LENGTH = 16777216

# Header byte 0x14 -> the name mdb-ver prints (Access 2007, 2010, 2013, 2016, 2019).
ACE_VERSIONS = {0: "JET3", 1: "JET4", 2: "ACE12", 3: "ACE14", 4: "ACE15", 5: "ACE16", 6: "ACE17"}
PLATFORM_READABLE = ("ACE12", "ACE14", "ACE15", "ACE16")  # what Jackcess 2.2.0 (the platform's reader) opens

# Field names as the national platform's structure check names them: the MD5 is taken of the
# text form of the sorted list of these rows, so the names and order matter.
SchemaRow = namedtuple("SchemaRow", ["table_name", "column_name", "data_type", "character_maximum_length"])


@dataclass(frozen=True)
class PhysColumn:
    name: str  # as spelt in the file
    access_type: str  # Jackcess DataType name
    length: int | None = None  # text length in characters; None for non-text

    def label(self) -> str:
        base = ACCESS_LABEL.get(self.access_type, self.access_type)
        return f"{base}({self.length})" if self.access_type == "TEXT" else base


@dataclass(frozen=True)
class PhysTable:
    name: str
    columns: tuple[PhysColumn, ...]
    rows: int = 0

    def to_json(self) -> dict:
        return {"name": self.name, "rows": self.rows, "columns": [asdict(c) for c in self.columns]}

    @staticmethod
    def from_json(d: dict) -> "PhysTable":
        return PhysTable(d["name"], tuple(PhysColumn(**c) for c in d["columns"]), d.get("rows", 0))


def spec_structure() -> list[PhysTable]:
    """The structure the writer creates without a template: one PhysTable per spec table, spec order."""
    out = []
    for t in load_tables():
        cols = tuple(
            PhysColumn(c.name, SPEC_TO_ACCESS[c.data_type], c.max_length if c.data_type == "string" else None)
            for c in t.columns
        )
        out.append(PhysTable(t.name, cols))
    return out


def spec_schema_rows() -> list[SchemaRow]:
    """The information_schema rows UCanAccess 4.0.4 reports for a file built exactly to the spec."""
    rows = []
    for t in spec_structure():
        for c in t.columns:
            rows.append(SchemaRow(t.name.upper(), c.name.upper(), SPEC_UCANACCESS_TYPE[c.access_type], c.length))
    return sorted(rows)


def schema_label(row: SchemaRow) -> str:
    """A column's type as Access shows it, from UCanAccess's information_schema row."""
    if row.data_type == "CHARACTER VARYING":
        size = row.character_maximum_length
        return "Long Text" if size == MEMO_LENGTH else f"Short Text({size})"
    return UCANACCESS_LABEL.get(row.data_type, row.data_type)


_NOT_SHOWN = "(names not shown: run 'iapt-idb structure' on the file to list them)"


@dataclass(frozen=True)
class SchemaDifference:
    """One way a file's structure differs from the one the platform compares it with (IDSREJ001). ``table``
    and ``column`` are spelt as the spec spells them, or empty for extra tables; names found only in the file
    are counted, never quoted (they are the file's own text)."""

    table: str
    column: str
    message: str
    kind: str  # "missing_table", "missing_column", "type", "extra_columns" or "extra_tables"


def same_type(a: SchemaRow, b: SchemaRow) -> bool:
    """The same type and text size (what the platform's hash holds of a column besides its names)."""
    return (a.data_type, a.character_maximum_length) == (b.data_type, b.character_maximum_length)


def schema_differences(expected: list[SchemaRow], actual: list[SchemaRow], against: str) -> list[SchemaDifference]:
    """How ``actual`` (a file's information_schema rows, as UCanAccess reports them) differs from
    ``expected``: missing tables and columns, columns of another type or text size, and extra columns and
    tables. The platform takes the MD5 of the sorted rows and rejects the file when it is not the official
    IDB's, so any difference rejects it. ``against`` names what ``expected`` is, for the messages."""
    spelt = {t.name.upper(): t for t in load_tables()}

    def names(table: str, column: str = "") -> tuple[str, str]:
        t = spelt.get(table)
        if t is None:
            return table, column
        col = next((c.name for c in t.columns if c.name.upper() == column), column)
        return t.name, col

    exp = {(r.table_name.upper(), r.column_name.upper()): SchemaRow(*r) for r in expected}
    act = {(r.table_name.upper(), r.column_name.upper()): SchemaRow(*r) for r in actual}
    exp_tables = sorted({t for t, _ in exp})
    act_tables = {t for t, _ in act}
    tail = (" (IDSREJ001: the platform rejects a file whose structure is not the official IDB's; compared with "
            f"{against})")
    out: list[SchemaDifference] = []
    for table in exp_tables:
        t_name, _ = names(table)
        if table not in act_tables:
            out.append(SchemaDifference(t_name, "", f"the file has no table {t_name}{tail}", "missing_table"))
            continue
        for (tb, column), row in sorted(exp.items()):
            if tb != table:
                continue
            _, c_name = names(table, column)
            found = act.get((tb, column))
            if found is None:
                out.append(SchemaDifference(t_name, c_name, f"table {t_name} in the file has no column {c_name}{tail}",
                                            "missing_column"))
            elif not same_type(found, row):
                out.append(SchemaDifference(t_name, c_name, f"{t_name}.{c_name} is {schema_label(found)} in the file, "
                                                            f"{schema_label(row)} in the expected structure{tail}",
                                            "type"))
        extra = sum(1 for tb, column in act if tb == table and (tb, column) not in exp)
        if extra:
            out.append(SchemaDifference(t_name, "", f"table {t_name} in the file has {extra} column(s) the expected "
                                                    f"structure does not {_NOT_SHOWN}{tail}", "extra_columns"))
    extra_tables = len(act_tables - set(exp_tables))
    if extra_tables:
        out.append(SchemaDifference("", "", f"the file has {extra_tables} table(s) the expected structure does not "
                                            f"{_NOT_SHOWN}{tail}", "extra_tables"))
    return out


def fingerprint(rows: list[SchemaRow]) -> str:
    """MD5 of the sorted structure rows' text form: how the platform fingerprints an IDB (IDSREJ001)."""
    return hashlib.md5(str(sorted(rows)).encode()).hexdigest()


def structure_differences(actual: list[PhysTable], expected: list[PhysTable] | None = None,
                          types: bool = True) -> list[str]:
    """Human-readable differences of a file's structure from the spec. Names compare case-insensitively.
    ``types=False``: only missing and extra tables and columns (a template's spelling, types and sizes are
    its own to give)."""
    expected = expected if expected is not None else spec_structure()
    diffs: list[str] = []
    act = {t.name.lower(): t for t in actual}
    exp = {t.name.lower(): t for t in expected}
    for key, et in exp.items():
        at = act.get(key)
        if at is None:
            diffs.append(f"missing table {et.name}")
            continue
        if types and at.name != et.name:
            diffs.append(f"table {at.name}: spelt {at.name!r}, the spec spells it {et.name!r}")
        acols = {c.name.lower(): c for c in at.columns}
        ecols = {c.name.lower(): c for c in et.columns}
        for ck, ec in ecols.items():
            ac = acols.get(ck)
            if ac is None:
                diffs.append(f"{et.name}: missing column {ec.name}")
            elif not types:
                continue
            elif ac.access_type != ec.access_type:
                diffs.append(f"{et.name}.{ec.name}: type {ac.label()}, the spec structure has {ec.label()}")
            elif ac.access_type == "TEXT" and ac.length != ec.length:
                diffs.append(f"{et.name}.{ec.name}: text size {ac.length}, the spec structure has {ec.length}")
        for ck, ac in acols.items():
            if ck not in ecols:
                diffs.append(f"{et.name}: extra column {ac.name} (not in the IDB v2.1 spec)")
    for key, at in act.items():
        if key not in exp:
            diffs.append(f"extra table {at.name} (not in the IDB v2.1 spec)")
    return diffs


def ace_version(path) -> str:
    """The Access engine version from the file header, as mdb-ver prints it (JET4, ACE12, ACE14 ...)."""
    with open(path, "rb") as f:
        head = f.read(0x20)
    if len(head) < 0x15 or head[4:19] not in (b"Standard Jet DB", b"Standard ACE DB"):
        raise ValueError(f"{path} is not a Microsoft Access database (no Jet/ACE header)")
    return ACE_VERSIONS.get(head[0x14], f"unknown version byte {head[0x14]}")
