"""Same warehouse, period and creation time -> byte-identical CSV exports of all 21 marts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from conftest import build_into
from iapt_idb.spec import table_names

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)


def _csv_digests(target_db: Path, out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(target_db), read_only=True)
    digests = {}
    try:
        for name in table_names():
            path = out / f"{name}.csv"
            con.execute(f'copy (select * from main."{name}") to \'{path}\' (header, delimiter \',\')')
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    finally:
        con.close()
    return digests


def test_rebuild_gives_byte_identical_csv_exports(built_marts, tmp_path: Path) -> None:
    first = _csv_digests(built_marts.target_db, tmp_path / "first")
    again = build_into(tmp_path / "again", built_marts.warehouse, select=["+path:models/marts/idb"])
    second = _csv_digests(again.target_db, tmp_path / "second")
    assert first == second
    # and the marts are not trivially empty
    assert sum((tmp_path / "first" / f"{n}.csv").stat().st_size for n in table_names()) > 10_000
