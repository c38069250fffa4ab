"""One SHA-256 per row of an exported IDB, named by the row's record key.

The digests are computed in DuckDB from the same SELECT per table that the export wrote from, minus the
rows it left out as unstorable (by their 0-based row number in that SELECT, as the export numbers them),
so they stand for the IDB's rows without reading the .accdb back. The record key is the validation
reports' (``validation.tables.RECORD_KEYS``: local identifiers only, e.g. ``CareContactId=CC1;
ServiceRequestId=SR1``; the header is ``HeaderRow=1``). No column value leaves DuckDB except the key's.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import duckdb

from ..spec import load_tables
from ..validation.tables import RECORD_KEYS

ROWS_HEADER = ("record_key", "row_sha256")
_SEP = "chr(31)"   # between column values
_NULL = "chr(30)"  # stands for NULL, so NULL and '' differ


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _key_sql(table: str) -> str:
    cols = RECORD_KEYS[table]
    if not cols:
        return "'HeaderRow=' || cast(__row + 1 as varchar)"
    parts = [f"'{c}=' || coalesce(nullif(trim(cast(src.{_q(c)} as varchar)), ''), '')" for c in cols]
    return " || ';' || ".join(parts)


def _row_sql(columns: list[str]) -> str:
    values = ", ".join(f"coalesce(cast(src.{_q(c)} as varchar), {_NULL})" for c in columns)
    return f"sha256(concat_ws({_SEP}, {values}))"


def table_digests(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], source_sql: str,
                  left_out: set[int]) -> list[tuple[str, str]]:
    """(record key, row SHA-256) of every row the export wrote for ``table``, sorted."""
    where = ""
    if left_out:
        where = "where __row not in (" + ", ".join(str(int(r)) for r in sorted(left_out)) + ")"
    sql = (f"with src as (select row_number() over () - 1 as __row, * from ({source_sql}) as s) "
           f"select {_key_sql(table)} as k, {_row_sql(columns)} as h from src {where} order by k, h")
    return [(str(k), str(h)) for k, h in con.execute(sql).fetchall()]


def write_digests(con: duckdb.DuckDBPyConnection, sources: dict[str, str], excluded: list[dict[str, Any]],
                  folder: Path) -> dict[str, int]:
    """Write ``folder/<table>.csv`` (record_key,row_sha256) for the 21 tables; return the row counts."""
    folder.mkdir(parents=True, exist_ok=True)
    left: dict[str, set[int]] = {}
    for e in excluded:
        left.setdefault(str(e["table"]), set()).add(int(e["row"]))
    counts: dict[str, int] = {}
    for t in load_tables():
        rows = table_digests(con, t.name, t.column_names, sources[t.name], left.get(t.name, set()))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(ROWS_HEADER)
        w.writerows(rows)
        (folder / f"{t.name}.csv").write_text(buf.getvalue(), encoding="utf-8")
        counts[t.name] = len(rows)
    return counts


def read_digests(path: Path) -> dict[str, list[str]]:
    """record key -> the sorted row digests under that key (a key can repeat: duplicates are findings)."""
    out: dict[str, list[str]] = {}
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if tuple(header or ()) != ROWS_HEADER:
            raise ValueError(f"{path.name}: unexpected header")
        for row in reader:
            if len(row) != 2:
                raise ValueError(f"{path.name}: malformed line")
            out.setdefault(row[0], []).append(row[1])
    for v in out.values():
        v.sort()
    return out
