"""Validation of real built marts (shared `built_marts` fixture): the export verdict API and the generator's
injected defects, each of which must be reported with a sensible rule code on the record it spoiled."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from iapt_idb import provenance
from iapt_idb.validation.api import export_verdict
from iapt_idb.validation.tables import meta
from iapt_idb.warehouse.schema import TABLES

# (warehouse table, defect kind) -> (IDB table, acceptable rule codes, warehouse columns whose values must all be
# parts of the IDB record key, None = the defect's own key);
# codes None: the defect is not a TOS failure (said why).
EXPECTED: dict[tuple[str, str], tuple[str, set[str] | None, tuple[str, ...] | None]] = {
    ("patient", "invalid_nhs_number"): ("IDS001MPI", {"IDSREJ006"}, None),
    ("patient", "future_birth_date"): ("IDS001MPI", {"IDSREJ008"}, None),
    ("patient", "missing_mandatory"): ("IDS001MPI", {"IDS00120"}, None),
    ("patient", "unmapped_code"): ("IDS001MPI", {"IDS00132", "IDS00133"}, None),
    ("patient_address", "bad_postcode"): ("IDS001MPI", {"IDSREJ007", "IDS00125"}, ("patient_id",)),
    ("patient_address", "over_long_text"): ("IDS001MPI", {"IDSREJ007", "IDS00125"}, ("patient_id",)),
    # the address history itself is not submitted (only the postcode of the current address)
    ("patient_address", "dates_out_of_order"): ("IDS001MPI", None, ("patient_id",)),
    ("gp_registration", "missing_mandatory"): ("IDS002GP", {"IDS00203"}, ("patient_id", "registered_from")),
    ("gp_registration", "dates_out_of_order"): ("IDS002GP", {"IDS00216"}, ("patient_id", "registered_from")),
    ("gp_registration", "duplicate_row"): ("IDS002GP", {"IDS00221", "IDS00222"}, ("patient_id", "registered_from")),
    ("accommodation_history", "unmapped_code"): ("IDS003AccommStatus", {"UNPUBLISHED(IDS003-AT-2)",
                                                                         "UNPUBLISHED(IDS003-AT-3)"}, ("patient_id", "recorded_on")),
    ("accommodation_history", "missing_mandatory"): ("IDS003AccommStatus", {"UNPUBLISHED(IDS003-ATD-1)"}, ("patient_id", "recorded_on")),
    ("employment_history", "missing_mandatory"): ("IDS004EmpStatus", {"IDS00412", "IDS00440"}, ("patient_id", "recorded_on")),
    ("employment_history", "unmapped_code"): ("IDS004EmpStatus", {"IDS00406", "IDS00407"}, ("patient_id", "recorded_on")),
    ("patient_disability", "duplicate_row"): ("IDS007DisabilityType", {"IDS00702"}, ("patient_id",)),
    ("patient_disability", "unmapped_code"): ("IDS007DisabilityType", {"IDS00706", "IDS00707"}, ("patient_id", "disability")),
    ("patient_disability", "over_long_text"): ("IDS007DisabilityType", {"IDS00704", "IDS00701"}, ("patient_id",)),
    ("social_circumstance", "over_long_text"): ("IDS011SocPerCircumstances", {"IDS01104", "IDS01101"}, ("patient_id",)),
    ("referral", "missing_mandatory"): ("IDS101Referral", {"IDS10111"}, None),
    ("referral", "dates_out_of_order"): ("IDS101Referral", {"IDS10128"}, None),
    ("referral", "unmapped_code"): ("IDS101Referral", {"IDS10117", "IDS10118"}, None),
    ("referral", "bad_onset_format"): ("IDS101Referral", {"IDS10132", "IDS10142"}, None),
    ("waiting_pause", "dates_out_of_order"): ("IDS108WaitingTimePauses", {"IDS10813"}, ("referral_id",)),
    ("appointment", "missing_mandatory"): ("IDS201CareContact", {"IDS20154"}, None),
    ("appointment", "unmapped_code"): ("IDS201CareContact", {"IDS20127", "IDS20128", "IDS20119", "IDS20120"}, None),
    ("appointment", "orphan_row"): ("IDS201CareContact", {"IDS20142"}, None),
    # CARE PERSONNEL LOCAL IDENTIFIER is a Required item with no "must be supplied" rule
    ("appointment_intervention", "missing_mandatory"): ("IDS202CareActivity", None, None),
    ("presenting_problem", "duplicate_row"): ("IDS603PresentingComplaints", {"IDS60302"}, ("referral_id",)),
}


def _tokens(wh: duckdb.DuckDBPyConnection, table: str, key: str, columns: tuple[str, ...] | None) -> list[str] | None:
    """The values identifying the spoiled row in the IDB record key (None -> '')."""
    if columns is None:
        return [key]
    key_col = next(t for t in TABLES if t.name == table).key[0]
    sel = ", ".join(f'cast("{c}" as varchar)' for c in columns)
    row = wh.execute(f'select {sel} from cms."{table}" where cast("{key_col}" as varchar) = ?', [key]).fetchone()
    return [v or "" for v in row] if row else None


@pytest.fixture(scope="module")
def verdict(built_marts, monkeypatch_module):
    return export_verdict(built_marts.target_db, built_marts.period)


@pytest.fixture(scope="module")
def monkeypatch_module(built_marts):
    mp = pytest.MonkeyPatch()
    work = Path(built_marts.target_path).parent
    mp.setenv("DBT_TARGET_PATH", str(built_marts.target_path))
    mp.setenv("DBT_LOG_PATH", str(work / "logs"))
    mp.setenv("IAPT_WAREHOUSE_PATH", str(built_marts.warehouse))
    mp.setenv("IAPT_TARGET_DB", str(built_marts.target_db))
    yield mp
    mp.undo()


def test_export_verdict_keeps_exactly_the_rows_the_platform_keeps(built_marts, verdict) -> None:
    con = duckdb.connect(str(built_marts.target_db), read_only=True)
    try:
        summary = dict(con.execute("select table_name, rows_kept from main_validation.tos_table_summary").fetchall())
        rejected = con.execute("select file_rejected from main_validation.tos_summary").fetchone()[0]
        assert verdict.file_rejected == rejected
        assert bool(verdict.reasons) == rejected
        dropped_somewhere = False
        for table, kept in summary.items():
            sql = verdict.kept_rows_sql(table)
            cur = con.execute(sql)
            assert [d[0] for d in cur.description] == list(meta(table).columns)
            rows = cur.fetchall()
            assert len(rows) == kept, table
            total = con.execute(f'select count(*) from main."{table}"').fetchone()[0]
            dropped_somewhere |= total > kept
            # kept rows are rows of the mart
            extra = con.execute(
                f'select count(*) from (({sql}) except all (select * from main."{table}"))').fetchone()[0]
            assert extra == 0, table
        assert dropped_somewhere  # the generator's defects remove some rows
    finally:
        con.close()


def test_generator_defects_are_reported_with_a_rule_code(built_marts, verdict) -> None:
    wh = duckdb.connect(str(built_marts.warehouse), read_only=True)
    db = duckdb.connect(str(built_marts.target_db), read_only=True)
    try:
        defects = wh.execute("select table_name, record_key, defect_kind from cms.generator_defects").fetchall()
        failures = db.execute("select rule_code, table_name, record_key from main_validation.tos_failures").fetchall()
        keys = {t: [r[0] for r in db.execute(f"select tos_record_key from main_validation.tos_norm_"
                                               f"{meta(t).table_id.lower()}").fetchall()] for t in
                {v[0] for v in EXPECTED.values()}}
        checked = missed = 0
        problems = []
        for table, key, kind in defects:
            assert (table, kind) in EXPECTED, f"no expectation for defect {table}/{kind}"
            idb_table, codes, via = EXPECTED[(table, kind)]
            tokens = _tokens(wh, table, key, via)
            if codes is None or tokens is None:
                continue
            in_file = [k for k in keys[idb_table] if set(tokens) <= {p.split("=", 1)[1] for p in k.split(";")}]
            if not in_file:
                continue  # the record is outside the month's file
            if table == "patient_address":
                # only the current address reaches the file: check the spoiled value is the one submitted
                pc = db.execute('select "Postcode" from main."IDS001MPI" where "LocalPatientId" = ?', [tokens[0]]).fetchone()
                spoiled = wh.execute("select postcode from cms.patient_address where cast(address_id as varchar) = ?",
                                     [key]).fetchone()
                if not pc or pc[0] != spoiled[0]:
                    continue
            hits = [f for f in failures if f[1] == idb_table and f[2] in in_file and f[0] in codes]
            checked += 1
            if not hits:
                missed += 1
                problems.append((table, key, kind, sorted(codes)))
        assert checked >= 10
        assert not problems, problems
    finally:
        wh.close()
        db.close()


def test_validating_the_marts_reads_them_in_place_with_the_reports_of_a_copy(built_marts, monkeypatch_module,
                                                                               tmp_path, monkeypatch) -> None:
    """`iapt-idb validate` reads the marts through views over the target DB (attached read-only): the scratch
    DB holds no copy of the patient data, and the reports are byte for byte those of the validation on a copy
    of the marts (dbt's path, which copies them, chosen or taken when the engine cannot run a model)."""
    from iapt_idb.validation import engine
    from iapt_idb.validation.api import run_validation
    from iapt_idb.validation.sources import INPUT_SCHEMA

    scratch = tmp_path / "scratch"
    monkeypatch.setenv("IAPT_VALIDATE_SCRATCH", str(scratch))  # a kept scratch folder, to look inside
    # dbt's own target and logs: the dbt run below must not replace the manifest the other tests read
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    in_place = run_validation(None, built_marts.period, tmp_path / "in_place", built_marts.target_db, gx=False)
    con = duckdb.connect(str(scratch / "validate.duckdb"), read_only=True)
    try:
        kinds = set(con.execute("select distinct 'table' from duckdb_tables() where schema_name = ? union all "
                                "select distinct 'view' from duckdb_views() where schema_name = ?",
                                [INPUT_SCHEMA, INPUT_SCHEMA]).fetchall())
    finally:
        con.close()
    assert kinds == {("view",)}
    # a validation model the engine cannot run: dbt runs them all, on a copy of the marts (the path
    # IAPT_VALIDATE_WITH_DBT=1 chooses, which test_validation_engine compares with the engine)
    def unsupported(*args, **kwargs):
        raise engine.EngineUnsupported("tos_example: materialization 'incremental' is not supported")

    monkeypatch.setattr(engine, "build_validation", unsupported)
    stamps = provenance.read_manifest(built_marts.target_db)
    fallback = run_validation(None, built_marts.period, tmp_path / "fallback", built_marts.target_db, gx=False)
    assert fallback.engine_stats is None
    assert in_place.file_rejected == fallback.file_rejected and in_place.failures
    # dbt's run of the validation models (hooks included) leaves the marts' build record alone
    assert stamps and provenance.read_manifest(built_marts.target_db) == stamps
    for name in ("summary.json", "validation_report.csv", "validation_report.json"):
        assert (tmp_path / "in_place" / name).read_bytes() == (tmp_path / "fallback" / name).read_bytes(), name


def test_validating_the_marts_without_gx_keeps_no_scratch_db_on_disk(built_marts, tmp_path, monkeypatch) -> None:
    """Without GX nothing reads the validation's results but the reports, so the engine works in memory: while
    the reports are written the scratch folder holds no database file (no results quoting input values on
    disk, no checkpoint), and the reports are byte for byte those of a run in a scratch DB file."""
    import tempfile

    from iapt_idb.validation import report
    from iapt_idb.validation.api import SCRATCH_DB_NAME, run_validation

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    seen: list[list[str]] = []
    write_reports = report.write_reports

    def spy(*args, **kwargs):
        seen.append(sorted(p.name for p in tmp.rglob("*") if p.is_file()))
        return write_reports(*args, **kwargs)

    monkeypatch.setattr(report, "write_reports", spy)
    in_memory = run_validation(None, built_marts.period, tmp_path / "memory", built_marts.target_db, gx=False)
    assert seen[-1] and not [n for n in seen[-1] if n.startswith(SCRATCH_DB_NAME)], seen[-1]
    monkeypatch.setenv("IAPT_VALIDATE_SCRATCH", str(tmp_path / "scratch"))  # a kept scratch DB file instead
    in_file = run_validation(None, built_marts.period, tmp_path / "file", built_marts.target_db, gx=False)
    assert (tmp_path / "scratch" / SCRATCH_DB_NAME).is_file()
    assert in_memory.failures and in_memory.file_rejected == in_file.file_rejected
    for name in ("summary.json", "validation_report.csv", "validation_report.json"):
        assert (tmp_path / "memory" / name).read_bytes() == (tmp_path / "file" / name).read_bytes(), name


def test_a_mart_that_is_a_view_is_copied_the_others_linked(built_marts, tmp_path) -> None:
    """A view has no rowid to link by: such a mart is copied into the scratch DB (rows in the same order)."""
    import shutil

    from iapt_idb.validation.sources import INPUT_SCHEMA, MARTS_CATALOG, link_marts_on

    marts = tmp_path / built_marts.target_db.name
    shutil.copyfile(built_marts.target_db, marts)
    con = duckdb.connect(str(marts))
    try:
        con.execute('alter table main."IDS902CarePersQual" rename to "IDS902_rows"')
        con.execute('create view main."IDS902CarePersQual" as select * from main."IDS902_rows"')
    finally:
        con.close()
    scratch = tmp_path / "validate.duckdb"
    con = duckdb.connect(str(scratch))
    try:
        link_marts_on(con, marts)
    finally:
        con.close()
    con = duckdb.connect(str(scratch))
    try:
        con.execute(f"attach '{marts}' as {MARTS_CATALOG} (read_only)")
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables "
                                 "where table_schema = ?", [INPUT_SCHEMA]).fetchall())
        assert kinds.pop("IDS902CarePersQual") == "BASE TABLE"
        assert set(kinds.values()) == {"VIEW"} and len(kinds) == 20
        copied = con.execute(f'select * from {INPUT_SCHEMA}."IDS902CarePersQual" order by rowid').fetchall()
        assert copied == con.execute(f'select * from {MARTS_CATALOG}.main."IDS902_rows" order by rowid').fetchall()
        assert copied
        linked = con.execute(f'select rowid, * from {INPUT_SCHEMA}."IDS101Referral" order by rowid').fetchall()
        assert linked == con.execute(f'select rowid, rowid, * from {MARTS_CATALOG}.main."IDS101Referral" '
                                     "order by rowid").fetchall()
    finally:
        con.close()
