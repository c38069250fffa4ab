"""The 21 marts are exactly the IDB: names, column order and types from reference/spec/idb_schema.csv."""

from __future__ import annotations

import duckdb

from iapt_idb.dbtgen.marts import DATA_TYPES
from iapt_idb.spec import load_tables

DUCKDB_TYPES = {"varchar": "VARCHAR", "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP", "integer": "INTEGER"}


def _columns(target_db) -> dict[str, list[tuple[str, str]]]:
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        rows = con.sql(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'main' and table_name like 'IDS%' order by table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, []).append((column, dtype))
    return out


def test_marts_have_exactly_the_idb_tables_columns_order_and_types(built_marts) -> None:
    actual = _columns(built_marts.target_db)
    expected = {
        t.name: [(c.name, DUCKDB_TYPES[DATA_TYPES[c.data_type]]) for c in t.columns] for t in load_tables()
    }
    assert sorted(actual) == sorted(expected)
    for name, cols in expected.items():
        assert actual[name] == cols, name
    assert sum(len(c) for c in actual.values()) == 140


def test_header_is_one_row_from_the_run_settings(built_marts) -> None:
    con = duckdb.connect(str(built_marts.target_db), read_only=True)
    try:
        rows = con.sql('select * from main."IDS000Header"').fetchall()
    finally:
        con.close()
    assert len(rows) == 1
    version, prov, submit, system, start, end, created = rows[0]
    assert (version, str(start), str(end)) == ("2.1", "2026-10-01", "2026-10-31")
    assert created.isoformat() == built_marts.created_at
    assert prov and submit and len(system) <= 20


def test_lineage_covers_every_idb_column_with_real_contract_columns() -> None:
    from iapt_idb import contract
    from iapt_idb.dbtgen.lineage import COLUMN_LINEAGE

    spec = {f"{t.name}.{c.name}" for t in load_tables() for c in t.columns}
    assert set(COLUMN_LINEAGE) == spec
    columns = {f"{e.name}.{c.name}" for e in contract.ENTITIES for c in e.columns}
    for item, lin in COLUMN_LINEAGE.items():
        assert set(lin.sources) <= columns, item
        if lin.code_set:
            assert lin.code_set in contract.CODE_SETS, item
            coded = {f"{e.name}.{c.name}" for e in contract.ENTITIES for c in e.columns if c.code_set == lin.code_set}
            assert coded & set(lin.sources), f"{item}: no source column uses code set {lin.code_set}"
