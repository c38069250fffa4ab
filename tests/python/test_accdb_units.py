"""Pure-Python parts of the .accdb tools: jar pinning, the structure model, the fingerprint, headers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from accdb_fixtures import nhs_number
from iapt_idb import nhs_number as nhs
from iapt_idb.accdb import jars
from iapt_idb.accdb.errors import AccdbError
from iapt_idb.accdb.physical import (PhysColumn, PhysTable, SchemaRow, ace_version, fingerprint, schema_differences,
                                     spec_schema_rows, spec_structure, structure_differences)
from iapt_idb.paths import JARS_DIR


def test_tampered_or_missing_jar_is_refused(tmp_path: Path) -> None:
    shutil.copytree(JARS_DIR / "writer", tmp_path / "writer")
    assert len(jars.classpath.__wrapped__("writer", tmp_path)) == 3
    jar = tmp_path / "writer" / "jackcess-4.0.10.jar"
    jar.write_bytes(jar.read_bytes() + b"x")
    with pytest.raises(AccdbError, match="does not match its pinned SHA-256"):
        jars.classpath.__wrapped__("writer", tmp_path)
    jar.unlink()
    with pytest.raises(AccdbError, match="missing Java library .*make jars"):
        jars.classpath.__wrapped__("writer", tmp_path)


def test_spec_structure_and_schema_rows() -> None:
    tables = spec_structure()
    assert len(tables) == 21 and sum(len(t.columns) for t in tables) == 140
    rows = spec_schema_rows()
    assert SchemaRow("IDS201CARECONTACT", "CARECONTTIME", "TIMESTAMP", None) in rows
    assert SchemaRow("IDS001MPI", "NHSNUMBER", "CHARACTER VARYING", 10) in rows
    assert SchemaRow("IDS201CARECONTACT", "CLINCONTDUROFCARECONT", "INTEGER", None) in rows
    assert structure_differences(tables) == []


def test_fingerprint_is_order_free_and_sensitive_to_sizes() -> None:
    rows = spec_schema_rows()
    assert fingerprint(list(reversed(rows))) == fingerprint(rows)
    changed = [r._replace(character_maximum_length=9) if r.column_name == "NHSNUMBER" else r for r in rows]
    assert fingerprint(changed) != fingerprint(rows)


def test_structure_differences_names_what_differs() -> None:
    tables = spec_structure()
    mpi = tables[1]
    cols = tuple(PhysColumn(c.name, c.access_type, 9) if c.name == "NHSNumber" else c for c in mpi.columns
                 if c.name != "Postcode") + (PhysColumn("Notes", "MEMO"),)
    tables = [tables[0], PhysTable(mpi.name, cols)] + tables[3:] + [PhysTable("Extra", ())]
    assert structure_differences(tables) == [
        "IDS001MPI.NHSNumber: text size 9, the spec structure has 10",
        "IDS001MPI: missing column Postcode",
        "IDS001MPI: extra column Notes (not in the IDB v2.1 spec)",
        "missing table IDS002GP",
        "extra table Extra (not in the IDB v2.1 spec)",
    ]
    # what an export template is held to: the spec's tables and columns, whatever their spelling, types, sizes
    respelt = [PhysTable(t.name.upper(), t.columns) for t in tables]
    assert structure_differences(respelt, types=False) == [
        "IDS001MPI: missing column Postcode",
        "IDS001MPI: extra column Notes (not in the IDB v2.1 spec)",
        "missing table IDS002GP",
        "extra table EXTRA (not in the IDB v2.1 spec)",
    ]


def test_schema_differences_are_each_a_file_rejection_and_never_quote_the_files_own_names() -> None:
    """Every way the platform's hash of the structure can differ: a missing table or column, another type or
    text size, an extra column or table (those only counted: their names are the file's own text)."""
    spec = spec_schema_rows()
    found = [r._replace(character_maximum_length=9) if r.column_name == "NHSNUMBER" else r for r in spec
             if r.column_name != "POSTCODE" and r.table_name != "IDS002GP"]
    found = [r._replace(data_type="CHARACTER VARYING", character_maximum_length=10)
             if (r.table_name, r.column_name) == ("IDS101REFERRAL", "SERVDISCHDATE") else r for r in found]
    found += [SchemaRow("IDS001MPI", "X9990000018", "INTEGER", None),
              SchemaRow("LS1 4AP", "NOTES", "CHARACTER VARYING", 16777216)]
    diffs = schema_differences(spec, found, "the spec structure")
    tail = (" (IDSREJ001: the platform rejects a file whose structure is not the official IDB's; compared with "
            "the spec structure)")
    listed = "(names not shown: run 'iapt-idb structure' on the file to list them)"
    assert [(d.table, d.column, d.message) for d in diffs] == [
        ("IDS001MPI", "NHSNumber", "IDS001MPI.NHSNumber is Short Text(9) in the file, Short Text(10) in the "
                                   "expected structure" + tail),
        ("IDS001MPI", "Postcode", "table IDS001MPI in the file has no column Postcode" + tail),
        ("IDS001MPI", "", f"table IDS001MPI in the file has 1 column(s) the expected structure does not {listed}"
                          + tail),
        ("IDS002GP", "", "the file has no table IDS002GP" + tail),
        ("IDS101Referral", "ServDischDate", "IDS101Referral.ServDischDate is Short Text(10) in the file, Date/Time "
                                            "in the expected structure" + tail),
        ("", "", f"the file has 1 table(s) the expected structure does not {listed}" + tail),
    ]
    assert [d.kind for d in diffs] == ["type", "missing_column", "extra_columns", "missing_table", "type",
                                      "extra_tables"]
    assert "9990000018" not in repr(diffs) and "LS1 4AP" not in repr(diffs)
    assert schema_differences(spec, list(reversed(spec)), "the spec structure") == []


def test_the_readers_refusal_keeps_its_reason_and_quotes_no_value() -> None:
    from iapt_idb.accdb.replica_ops import cannot_open

    values = ("9991234567", "1961-02-28", "28/02/1961", "LS1 4AP", "ls14ap", "Smith")
    msg = cannot_open("IDB.accdb", Exception(
        "net.ucanaccess.jdbc.UcanaccessSQLException: UCAExc:::4.0.4 data exception: invalid value '9991234567'\n"
        "(born 1961-02-28, was 28/02/1961) at LS1 4AP / ls14ap for \"Smith\""))
    assert "data exception: invalid value" in msg and "The platform would reject the submission" in msg
    for value in values:
        assert value not in msg
    assert "Unsupported newer version: 6." in cannot_open(
        "IDB.accdb", Exception("net.ucanaccess.jdbc.UcanaccessSQLException: UCAExc:::4.0.4 Unsupported newer version: 6"))


def test_ace_version_reads_the_header(tmp_path: Path) -> None:
    f = tmp_path / "x.accdb"
    f.write_bytes(b"\x00\x01\x00\x00Standard ACE DB\x00" + b"\x03" + b"\x00" * 100)
    assert ace_version(f) == "ACE14"
    f.write_bytes(b"\x00\x01\x00\x00Standard ACE DB\x00" + b"\x06" + b"\x00" * 100)
    assert ace_version(f) == "ACE17"  # Access 2019: the platform's Jackcess 2.2.0 cannot open it
    f.write_bytes(b"not an access file" * 4)
    with pytest.raises(ValueError, match="not a Microsoft Access database"):
        ace_version(f)


def test_fixture_nhs_numbers_are_valid_test_numbers() -> None:
    for serial in range(0, 200, 7):
        n = nhs_number(serial)
        assert len(n) == 10 and n.startswith("999")
        assert nhs.check_digit(n[:9]) == int(n[9])


def test_the_writing_checks_flag_exactly_the_rows_the_preflight_names() -> None:
    """The export checks each row as it reads it for writing (text sizes, integer ranges and years on the
    written values of each batch; any other check in the SELECT, as one more column); it must flag exactly
    the rows the pre-flight reports, and leave the written values as they were (outer spaces trimmed, an
    emptied text null)."""
    import duckdb

    from iapt_idb.accdb import source
    from iapt_idb.spec import IdbColumn, IdbTable

    con = duckdb.connect()
    con.execute("""
        CREATE TABLE t AS SELECT * FROM (VALUES
            ('K1', ' ab ', 5, DATE '2026-10-01'),
            ('K2', 'abcdef', 5, DATE '2026-10-02'),
            ('K3', '   ', 300, DATE '2026-10-03'),
            ('K4', ' 😀😀😀 ', 1, DATE '0050-01-01'),
            ('K5', NULL, NULL, NULL)
        ) AS v(Id, Txt, Num, Day)""")
    def col(order: int, name: str, data_type: str, key: str = "") -> IdbColumn:
        return IdbColumn(table_id="T", table_name="T", order=order, name=name, item_name=name, data_type=data_type,
                         max_length=None, format_notes="", mandation="", code_list="", parent_key=key)

    spec = IdbTable("T", "T", "test table", (col(1, "Id", "string", "PK"), col(2, "Txt", "string"),
                                             col(3, "Num", "integer"), col(4, "Day", "date")))
    phys = PhysTable("T", (PhysColumn("Id", "TEXT", 5), PhysColumn("Txt", "TEXT", 4), PhysColumn("Num", "BYTE", None),
                           PhysColumn("Day", "SHORT_DATE_TIME", None)))
    plan = source.plan_table(con, spec, phys, "SELECT * FROM t")
    sql, flagged = plan.checked_write_sql()
    assert not flagged and sql == plan.write_sql()  # every check here has a limit: none is left to the scan
    batch = con.execute(sql).fetch_record_batch().read_next_batch()
    assert [plan.unstorable_in(batch.slice(i, 1)) for i in range(5)] == [False, True, True, True, False]
    assert plan.unstorable_in(batch)
    assert batch.column(1).to_pylist() == ["ab", "abcdef", None, "😀😀😀", None]
    n, problems = source.preflight(con, plan)
    assert n == 5
    assert sorted(p.split(",")[0] for p in problems) == ["T.Day", "T.Num", "T.Txt", "T.Txt"]
    assert any("row 3 (0-based; Id='K4'): text is 6 characters long" in p for p in problems)
    kept = con.execute(plan.storable_only().write_sql()).fetchall()
    assert [r[0] for r in kept] == ["K1", "K5"]


def test_the_batch_limits_mean_exactly_what_the_sql_checks_mean() -> None:
    """Each check the writer applies to a batch's written values (``Limit``) refuses exactly the values its
    SQL condition refuses, at every edge: UTF-16 units (a character outside the Basic Multilingual Plane
    counts two, an accented one one), each Access integer size, the first and last moment Access can hold.
    A disagreement would make the export refuse a good file, or write a value the file cannot store."""
    import duckdb
    import pyarrow as pa

    from iapt_idb.accdb import source
    from iapt_idb.spec import IdbColumn, IdbTable

    texts = ["ab", "abc", "😀", "😀a", "é", "éé", "ééé", "a😀", " ab ", " abc", "   ", "", None]
    ints = [-2147483649, -2147483648, -32769, -32768, -1, 0, 255, 256, 32767, 32768, 2147483647, 2147483648, None]
    days = ["-0001-06-01", "0099-12-31", "0100-01-01", "2026-10-01", "9999-12-31", "10000-01-01", None]
    moments = ["0099-12-31 23:59:59.999", "0100-01-01 00:00:00", "9999-12-31 23:59:59.999",
               "10000-01-01 00:00:00", None]
    con = duckdb.connect()
    rows = max(len(texts), len(ints), len(days), len(moments))

    def values(items: list, typ: str) -> str:
        return "[" + ", ".join("NULL" if v is None else f"CAST('{v}' AS {typ})" if typ != "BIGINT" else str(v)
                               for v in items + [None] * (rows - len(items))) + "]"

    con.execute(f"""CREATE TABLE t AS SELECT unnest(range({rows})) AS Id, unnest({values(texts, 'VARCHAR')}) AS Txt,
        unnest({values(ints, 'BIGINT')}) AS B, unnest({values(ints, 'BIGINT')}) AS I,
        unnest({values(ints, 'BIGINT')}) AS L, unnest({values(days, 'DATE')}) AS D,
        unnest({values(moments, 'TIMESTAMP')}) AS M""")

    def col(order: int, name: str, data_type: str) -> IdbColumn:
        return IdbColumn(table_id="T", table_name="T", order=order, name=name, item_name=name, data_type=data_type,
                         max_length=None, format_notes="", mandation="", code_list="", parent_key="")

    names = [("Id", "integer", PhysColumn("Id", "LONG", None)), ("Txt", "string", PhysColumn("Txt", "TEXT", 2)),
             ("B", "integer", PhysColumn("B", "BYTE", None)), ("I", "integer", PhysColumn("I", "INT", None)),
             ("L", "integer", PhysColumn("L", "LONG", None)), ("D", "date", PhysColumn("D", "SHORT_DATE_TIME", None)),
             ("M", "datetime", PhysColumn("M", "SHORT_DATE_TIME", None))]
    spec = IdbTable("T", "T", "test table", tuple(col(i, n, typ) for i, (n, typ, _) in enumerate(names, 1)))
    plan = source.plan_table(con, spec, PhysTable("T", tuple(c for _, _, c in names)), "SELECT * FROM t")
    assert plan.checked_write_sql() == (plan.write_sql(), False)
    batch = con.execute(plan.write_sql()).fetch_record_batch().read_next_batch()
    for i, c in enumerate(plan.columns[1:], 1):  # not Id, the row number
        assert all(chk.limit is not None for chk in c.checks), c.column.name
        by_sql = [r[0] for r in con.execute(f"SELECT {c.problem_sql} FROM t ORDER BY Id").fetchall()]
        by_limit = [plan.unstorable_in(_only_column(batch, i).slice(r, 1)) for r in range(rows)]
        assert by_limit == by_sql, c.column.name
        assert any(by_sql) and not all(by_sql), c.column.name  # both answers occur in every column
    text = batch.column(1).cast(pa.string_view())  # Arrow's other text layout, as DuckDB can give it
    assert [source._beyond(text.slice(r, 1), plan.columns[1].checks[0].limit) for r in range(rows)] == \
        [r[0] for r in con.execute(f"SELECT {plan.columns[1].problem_sql} FROM t ORDER BY Id").fetchall()]


def _only_column(batch, keep: int):
    """The batch with every other column null, so only column ``keep``'s checks can refuse a row."""
    import pyarrow as pa

    cols = [col if i == keep else pa.nulls(len(col), col.type) for i, col in enumerate(batch.columns)]
    return pa.RecordBatch.from_arrays(cols, schema=batch.schema)
