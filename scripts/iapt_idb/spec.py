"""The IAPT v2.1 IDB structure, read from reference/spec/idb_schema.csv (the contract)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .paths import IDB_SCHEMA_CSV

# The patient identifiers no message, log, report, site or leftover file may show, as IDB columns
# (table -> columns). The reports never show a value at all; where another tool's output can (GX's samples
# of unexpected values, the pages the docs site copies), the code reads this list.
PATIENT_IDENTIFIERS: dict[str, tuple[str, ...]] = {"IDS001MPI": ("NHSNumber", "PersonBirthDate", "Postcode")}


@dataclass(frozen=True)
class IdbColumn:
    table_id: str
    table_name: str
    order: int
    name: str
    item_name: str
    data_type: str  # string | date | time | datetime | integer
    max_length: int | None
    format_notes: str
    mandation: str  # M R O P or ''
    code_list: str
    parent_key: str


@dataclass(frozen=True)
class IdbTable:
    table_id: str
    name: str
    title: str
    columns: tuple[IdbColumn, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> IdbColumn:
        for c in self.columns:
            if c.name.lower() == name.lower():
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


@lru_cache(maxsize=None)
def load_tables(path: Path = IDB_SCHEMA_CSV) -> tuple[IdbTable, ...]:
    """All 21 IDB tables in IDB order, each with its columns in IDB order."""
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    tables: dict[str, list[IdbColumn]] = {}
    titles: dict[str, tuple[str, str]] = {}
    for r in rows:
        col = IdbColumn(
            table_id=r["table_id"],
            table_name=r["idb_table_name"],
            order=int(r["column_order"]),
            name=r["idb_column_name"],
            item_name=r["data_item_name"],
            data_type=r["data_type"],
            max_length=int(r["max_length"]) if r["max_length"] else None,
            format_notes=r["format_notes"],
            mandation=r["mandation"],
            code_list=r["code_list"],
            parent_key=r["parent_key"],
        )
        tables.setdefault(col.table_name, []).append(col)
        titles[col.table_name] = (r["table_id"], r["table_title"])
    return tuple(
        IdbTable(titles[name][0], name, titles[name][1], tuple(sorted(cols, key=lambda c: c.order)))
        for name, cols in tables.items()
    )


def table_names() -> list[str]:
    return [t.name for t in load_tables()]


def get_table(name_or_id: str) -> IdbTable:
    for t in load_tables():
        if name_or_id.lower() in (t.name.lower(), t.table_id.lower()):
            return t
    raise KeyError(f"no IDB table {name_or_id!r}; known: {', '.join(table_names())}")
