"""Pure-Python parts of the .accdb tools: jar pinning, the structure model, the fingerprint, headers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from accdb_fixtures import nhs_number
from iapt_idb import nhs_number as nhs
from iapt_idb.accdb import jars
from iapt_idb.accdb.errors import AccdbError
from iapt_idb.accdb.physical import (PhysColumn, PhysTable, SchemaRow, ace_version, fingerprint, spec_schema_rows,
                                     spec_structure, structure_differences)
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
