"""The exported IDB read back by the national reader replica (UCanAccess 4.0.4 + Jackcess 2.2.0), by
mdbtools (an independent C reader) and by our own DuckDB loader: every table, every value."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess

import duckdb
import pytest

from accdb_fixtures import (PERIOD, base_db, create_accdb, expected_rows, exported, fresh_dir, mdb_value, replica,
                            replica_value)
from iapt_idb.accdb.physical import ace_version, spec_structure
from iapt_idb.accdb.replica_session import ReplicaError
from iapt_idb.accdb.writer import export_idb, sha256_file
from iapt_idb.spec import load_tables

pytestmark = pytest.mark.java
TABLES = load_tables()


def test_replica_reads_every_value_as_written() -> None:
    path, _ = exported()
    expected = expected_rows(PERIOD)
    for t in TABLES:
        rows = replica().query(path, f"SELECT {', '.join(t.column_names)} FROM {t.name}")
        want = [[replica_value(c.data_type, v) for c, v in zip(t.columns, r)] for r in expected[t.name]]
        assert rows == want, t.name


def test_replica_structure_fingerprint_equals_spec() -> None:
    from iapt_idb.accdb.physical import SchemaRow, fingerprint, spec_schema_rows
    from iapt_idb.accdb.replica_ops import SCHEMA_SQL

    path, _ = exported()
    rows = sorted(SchemaRow(*r) for r in replica().query(path, SCHEMA_SQL))
    assert rows == spec_schema_rows()
    assert fingerprint(rows) == fingerprint(spec_schema_rows())
    assert len(rows) == 140


def test_access_2019_file_is_refused_by_the_replica() -> None:
    path = create_accdb(fresh_dir("v2019") / "idb2019.accdb", spec_structure(), file_format="V2019")
    assert subprocess.run(["mdb-ver", str(path)], capture_output=True, text=True).stdout.strip() == "ACE17"
    assert ace_version(path) == "ACE17"
    with pytest.raises(ReplicaError, match="Unsupported newer version"):
        replica().query(path, "SELECT DatSetVer FROM IDS000Header")


def test_mdbtools_version_tables_and_schema() -> None:
    path, _ = exported()
    run = lambda *a: subprocess.run(a, capture_output=True, text=True, check=True).stdout  # noqa: E731
    assert run("mdb-ver", str(path)).strip() == "ACE14"
    assert run("mdb-tables", "-1", str(path)).split() == [t.name for t in TABLES]
    schema = run("mdb-schema", str(path), "access")
    found = dict(re.findall(r"\[(\w+)\]\s+(Text \(\d+\)|DateTime|Long Integer)", schema))
    for t in TABLES:
        for c in t.columns:
            want = {"string": f"Text ({c.max_length})", "integer": "Long Integer"}.get(c.data_type, "DateTime")
            assert found.get(c.name) == want, f"{t.name}.{c.name}"


def test_mdbtools_export_values_match_the_source() -> None:
    path, _ = exported()
    expected = expected_rows(PERIOD)
    for t in TABLES:
        out = subprocess.run(["mdb-export", "-T", "%Y-%m-%d %H:%M:%S", str(path), t.name],
                             capture_output=True, text=True, check=True).stdout
        records = list(csv.reader(io.StringIO(out)))
        assert records[0] == t.column_names
        want = [[mdb_value(c.data_type, v) for c, v in zip(t.columns, r)] for r in expected[t.name]]
        assert records[1:] == want, t.name


def test_manifest_describes_the_file() -> None:
    path, manifest = exported()
    on_disk = json.loads(path.with_name(path.stem + ".manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["sha256"] == sha256_file(path)
    assert manifest["tables"] == {t: len(r) for t, r in expected_rows(PERIOD).items()}
    assert manifest["structure"] == {"source": "structure from spec, not the official template"}
    assert manifest["file_format"] == {"jackcess": "V2010", "access_version": "ACE14"}
    assert manifest["writer"]["jars"]["jackcess"] == "4.0.10"
    assert manifest["period"] == PERIOD
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, path.stem + ".manifest.json"])


def test_rerun_gives_a_byte_identical_file() -> None:
    path, manifest = exported()
    again = fresh_dir("rerun") / path.name
    second = export_idb(base_db(), again, PERIOD, progress=False)
    assert second["sha256"] == manifest["sha256"]
    assert again.read_bytes() == path.read_bytes()


def test_load_accdb_to_duckdb_round_trip() -> None:
    from iapt_idb.accdb.reader import load_accdb_to_duckdb

    path, _ = exported()
    replica()  # the session's JVM does the reading
    back = fresh_dir("loaded") / "back.duckdb"
    counts = load_accdb_to_duckdb(path, back, progress=False)
    assert counts == {t: len(r) for t, r in expected_rows(PERIOD).items()}
    want_types = {"string": "VARCHAR", "date": "DATE", "time": "TIME", "datetime": "TIMESTAMP", "integer": "BIGINT"}
    src = duckdb.connect(str(base_db()), read_only=True)
    dst = duckdb.connect(str(back), read_only=True)
    try:
        for t in TABLES:
            cols = ", ".join(f'"{c}"' for c in t.column_names)
            described = dst.execute(f'DESCRIBE main."{t.name}"').fetchall()
            assert [(d[0], d[1]) for d in described] == [(c.name, want_types[c.data_type]) for c in t.columns]
            assert dst.execute(f'SELECT {cols} FROM main."{t.name}"').fetchall() == \
                src.execute(f'SELECT {cols} FROM main."{t.name}"').fetchall(), t.name
    finally:
        src.close()
        dst.close()


def test_rows_sql_selects_the_rows_written(capfd: pytest.CaptureFixture[str]) -> None:
    out = fresh_dir("rows_sql") / "kept.accdb"

    def kept(table: str) -> str:  # e.g. what --drop-rejected passes: leave out some records
        where = "WHERE CareContactId <> '21'" if table == "IDS201CareContact" else ""
        return f'SELECT * FROM main."{table}" {where}'

    manifest = export_idb(base_db(), out, PERIOD, rows_sql=kept, progress=True)
    err = capfd.readouterr().err
    assert "export: IDS201CareContact                           3 rows" in err  # progress per table, on stderr
    nhs_numbers = [r[2] for r in expected_rows(PERIOD)["IDS001MPI"] if r[2]]
    assert nhs_numbers and not any(n in err for n in nhs_numbers)  # no NHS number in the log
    assert "1961-02-28" not in err  # nor a date of birth
    assert manifest["tables"]["IDS201CareContact"] == 3
    assert manifest["rows_selected"] == "a caller-supplied SELECT per table"
    ids = replica().query(out, "SELECT CareContactId FROM IDS201CareContact")
    assert [r[0] for r in ids] == ["Zoë Ångström €", "ÅBÅBÅBÅBÅBÅBÅBÅBÅBÅB", "31"]


def test_reader_names_a_missing_column_as_idsrej001() -> None:
    from iapt_idb.accdb.errors import AccdbStructureError
    from iapt_idb.accdb.physical import PhysTable
    from iapt_idb.accdb.reader import load_accdb_to_duckdb

    tables = [PhysTable(t.name, tuple(c for c in t.columns if c.name != "ServDischDate")) for t in spec_structure()]
    folder = fresh_dir("reader_missing_column")
    path = create_accdb(folder / "no_servdisch.accdb", tables)
    replica()
    with pytest.raises(AccdbStructureError, match="table IDS101Referral in the file has no column ServDischDate") as info:
        load_accdb_to_duckdb(path, folder / "back.duckdb", progress=False)
    assert (info.value.table, info.value.column, info.value.rule_code) == ("IDS101Referral", "ServDischDate", "IDSREJ001")


def test_reader_names_a_missing_table() -> None:
    from iapt_idb.accdb.physical import SchemaRow, schema_differences, spec_schema_rows

    rows = [r for r in spec_schema_rows() if r.table_name != "IDS603PRESENTINGCOMPLAINTS"]
    (only,) = schema_differences(spec_schema_rows(), rows, "the spec")
    assert (only.table, only.column) == ("IDS603PresentingComplaints", "")
    assert only.message.startswith("the file has no table IDS603PresentingComplaints (IDSREJ001")
    assert schema_differences(spec_schema_rows(), [SchemaRow(*r) for r in spec_schema_rows()], "the spec") == []


def test_no_jvm_in_the_test_process() -> None:
    """Every Java step ran in a spawned child: this process never hosted a JVM (none could be restarted)."""
    import jpype

    exported()
    assert not jpype.isJVMStarted()
