"""Local -> national mapping seeds: complete, valid, and covering what the warehouse holds."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from iapt_idb.contract import CODE_SETS as CODE_SET_REFERENCE
from iapt_idb.dbtgen.lineage import COLUMN_LINEAGE
from iapt_idb.paths import MAPPING_SEEDS_DIR, SEEDS_DIR
from iapt_idb.warehouse import schema


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_one_seed_per_local_code_set_with_unique_local_codes() -> None:
    assert set(CODE_SET_REFERENCE) == set(schema.CODE_SETS)
    for code_set in schema.CODE_SETS:
        path = MAPPING_SEEDS_DIR / f"map_{code_set}.csv"
        rows = _rows(path)
        assert rows and list(rows[0]) == ["local_code", "national_code", "local_description"], path
        codes = [r["local_code"] for r in rows]
        assert len(codes) == len(set(codes)), f"{path.name}: duplicate local codes"
        assert all(r["local_code"].strip() == r["local_code"] != "" for r in rows), path.name


def test_every_national_code_is_current_in_its_reference_list() -> None:
    for code_set, ref in CODE_SET_REFERENCE.items():
        reference = {r["code"]: r for r in _rows(SEEDS_DIR / "reference" / f"ref_{ref}.csv")}
        for r in _rows(MAPPING_SEEDS_DIR / f"map_{code_set}.csv"):
            code = r["national_code"]
            assert code in reference, f"map_{code_set}.csv: {r['local_code']} -> {code} is not in ref_{ref}"
            assert not reference[code]["valid_to"], f"map_{code_set}.csv: {code} expired {reference[code]['valid_to']}"


def test_every_mapped_idb_column_names_a_seed_whose_codes_it_accepts() -> None:
    used = {lin.code_set for lin in COLUMN_LINEAGE.values() if lin.code_set}
    assert used == set(schema.CODE_SETS), "every local code set feeds an IDB column"


def test_generator_emits_only_mapped_codes_except_its_logged_unmapped_defects(small_warehouse: Path) -> None:
    con = duckdb.connect(str(small_warehouse), read_only=True)
    try:
        logged = set(
            con.sql(
                "select table_name, column_name, record_key from cms.generator_defects "
                "where defect_kind = 'unmapped_code'"
            ).fetchall()
        )
        assert logged, "a 2% defect warehouse has unmapped-code defects"
        for t in schema.TABLES:
            key = t.key[0]
            for c in (c for c in t.columns if c.code_set):
                seed = {r["local_code"] for r in _rows(MAPPING_SEEDS_DIR / f"map_{c.code_set}.csv")}
                values = con.sql(
                    f"select cast({key} as varchar), {c.name} from cms.{t.name} where {c.name} is not null"
                ).fetchall()
                unmapped = {k for k, v in values if v not in seed}
                undeclared = {k for k in unmapped if (t.name, c.name, k) not in logged}
                assert not undeclared, f"cms.{t.name}.{c.name}: {len(undeclared)} rows hold codes missing from map_{c.code_set}"
    finally:
        con.close()


def test_the_build_fails_a_mapping_seed_on_each_problem_and_names_it(built_marts, tmp_path: Path) -> None:
    """The build's one data test per mapping seed (generic test local_code_mapping), as dbt compiled and ran it
    in the session's build: no rows on the seed as shipped; one row naming the problem for each kind of bad
    row (no local code, a local code twice, no national code, a code not in the list or expired)."""
    import shutil

    compiled = sorted(built_marts.target_path.glob("compiled/**/local_code_mapping_map_sex_*.sql"))
    assert len(compiled) == 1, "the build ran the mapping test of map_sex"
    sql = compiled[0].read_text(encoding="utf-8")
    db = tmp_path / built_marts.target_db.name  # the compiled SQL names the built DB's catalog
    shutil.copyfile(built_marts.target_db, db)
    con = duckdb.connect(str(db))
    try:
        assert con.execute(sql).fetchall() == []
        con.execute("insert into main_mappings.map_sex values (null, '1', 'blank code'), ('M', '1', 'Male again'), "
                    "('Q', null, 'no national code'), ('Z', '7', 'not a code'), ('U2', 'X', 'expired')")
        con.execute("update main_reference.ref_person_stated_gender_code set valid_to = '2020-12-31' where code = 'X'")
        found = sorted((str(local), problem) for local, _national, problem in con.execute(sql).fetchall())
    finally:
        con.close()
    not_listed = "not a code of ref_person_stated_gender_code valid in the period"
    assert found == sorted([("None", "no local code"), ("M", "local code listed more than once"),
                            ("Q", "no national code"), ("Z", not_listed), ("U2", not_listed), ("U", not_listed)])
