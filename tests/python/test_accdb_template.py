"""Template mode: the template's column types, text sizes and column order are kept, and only rows are
added; `iapt-idb structure` reports a file's structure and its differences from the spec."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from accdb_fixtures import PERIOD, base_db, create_accdb, expected_rows, exported, fresh_dir, replica, \
    replica_value, variant_db
from iapt_idb import cli
from iapt_idb.accdb.errors import AccdbError
from iapt_idb.accdb.physical import PhysColumn, PhysTable, spec_structure
from iapt_idb.accdb.structure import inspect_structure
from iapt_idb.accdb.writer import export_idb, sha256_file
from iapt_idb.spec import get_table

pytestmark = pytest.mark.java

# Deliberately different from the spec: larger text sizes, a 16-bit integer, a reversed column order.
CHANGES = {("IDS000Header", "PrimSystemInUse"): PhysColumn("PrimSystemInUse", "TEXT", 40),
           ("IDS001MPI", "Postcode"): PhysColumn("Postcode", "TEXT", 10),
           ("IDS201CareContact", "ClinContDurOfCareCont"): PhysColumn("ClinContDurOfCareCont", "INT")}


@lru_cache(maxsize=None)
def template() -> Path:
    tables = []
    for t in spec_structure():
        cols = tuple(CHANGES.get((t.name, c.name), c) for c in t.columns)
        if t.name == "IDS002GP":
            cols = cols[::-1]
        tables.append(PhysTable(t.name, cols))
    return create_accdb(fresh_dir("template_src") / "OFFICIAL_LOOKALIKE.accdb", tables)


@lru_cache(maxsize=None)
def filled() -> tuple[Path, dict]:
    db = variant_db("template_ints", "UPDATE IDS201CareContact SET ClinContDurOfCareCont = 32767 "
                    "WHERE ClinContDurOfCareCont > 32767",
                    "UPDATE IDS201CareContact SET ClinContDurOfCareCont = -32768 WHERE ClinContDurOfCareCont < -32768")
    out = fresh_dir("template_out") / "IDB.accdb"
    return out, export_idb(db, out, PERIOD, template=template(), progress=False)


def test_template_types_rule_the_range_checks() -> None:
    """The spec's Long Integer would take 2147483647; the template's 16-bit Integer must refuse it."""
    folder = fresh_dir("template_refused")
    with pytest.raises(AccdbError, match=r"IDS201CareContact\.ClinContDurOfCareCont, row 0 .*outside the range of "
                                         r"Number \(Integer\) \(-32768 to 32767\)"):
        export_idb(base_db(), folder / "IDB.accdb", PERIOD, template=template(), progress=False)
    assert list(folder.iterdir()) == []


def test_template_sizes_and_order_are_kept_and_rows_appended() -> None:
    out, manifest = filled()
    report = inspect_structure(out, replica=False)
    cols = {(t["name"], c["name"]): c for t in report["tables"] for c in t["columns"]}
    assert cols[("IDS000Header", "PrimSystemInUse")]["text_size"] == 40
    assert cols[("IDS001MPI", "Postcode")]["text_size"] == 10
    assert cols[("IDS201CareContact", "ClinContDurOfCareCont")]["jackcess_type"] == "INT"
    gp = next(t for t in report["tables"] if t["name"] == "IDS002GP")
    assert [c["name"] for c in gp["columns"]] == get_table("IDS002GP").column_names[::-1]
    assert manifest["structure"] == {"source": "template", "template_file": "OFFICIAL_LOOKALIKE.accdb",
                                     "template_sha256": sha256_file(template()), "template_format": "V2010",
                                     "template_access_version": "ACE14"}
    assert {t["name"]: t["rows"] for t in report["tables"]} == manifest["tables"]
    # the reordered table still reads back by column name, value for value
    t = get_table("IDS002GP")
    rows = replica().query(out, f"SELECT {', '.join(t.column_names)} FROM {t.name}")
    assert rows == [[replica_value(c.data_type, v) for c, v in zip(t.columns, r)] for r in expected_rows(PERIOD)[t.name]]


def test_structure_cli_matches_spec_file(capsys: pytest.CaptureFixture[str]) -> None:
    """Run as a user would: the replica in its own child process, not the test session's JVM."""
    path, _ = exported()
    session = replica()
    session.deactivate()
    try:
        assert cli.main(["structure", str(path), "--json"]) == 0
    finally:
        session.activate()
    report = json.loads(capsys.readouterr().out)
    assert report["access_version"] == "ACE14"
    assert report["matches_spec"] and report["differences_from_spec"] == []
    assert report["fingerprint"] == report["spec_fingerprint"]
    assert len(report["tables"]) == 21 and sum(len(t["columns"]) for t in report["tables"]) == 140


def test_structure_cli_reports_template_differences(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = filled()
    assert cli.main(["structure", str(out), "--no-replica"]) == 1
    text = capsys.readouterr().out
    assert "DIFFERS from the IDB v2.1 spec structure (3 difference(s))" in text
    assert "IDS000Header.PrimSystemInUse: text size 40, the spec structure has 20" in text
    assert "IDS001MPI.Postcode: text size 10, the spec structure has 8" in text
    assert "IDS201CareContact.ClinContDurOfCareCont: type Number (Integer), the spec structure has " \
           "Number (Long Integer)" in text



def test_template_structure_changes_the_platform_fingerprint() -> None:
    from iapt_idb.accdb.physical import SchemaRow, fingerprint, spec_schema_rows
    from iapt_idb.accdb.replica_ops import SCHEMA_SQL

    out, _ = filled()
    rows = sorted(SchemaRow(*r) for r in replica().query(out, SCHEMA_SQL))
    assert set(rows) ^ set(spec_schema_rows()) == {
        SchemaRow("IDS000HEADER", "PRIMSYSTEMINUSE", "CHARACTER VARYING", 40),
        SchemaRow("IDS000HEADER", "PRIMSYSTEMINUSE", "CHARACTER VARYING", 20),
        SchemaRow("IDS001MPI", "POSTCODE", "CHARACTER VARYING", 10),
        SchemaRow("IDS001MPI", "POSTCODE", "CHARACTER VARYING", 8),
        SchemaRow("IDS201CARECONTACT", "CLINCONTDUROFCARECONT", "SMALLINT", None),
        SchemaRow("IDS201CARECONTACT", "CLINCONTDUROFCARECONT", "INTEGER", None),
    }
    assert fingerprint(rows) != fingerprint(spec_schema_rows())
