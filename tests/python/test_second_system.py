"""The staging contract is real: a second, structurally different synthetic system (Meridian EPR, its
hand-written staging in source_systems/meridian_epr/) built from the same seed gives the same IDB, row for
row, and the same validation verdict as Lumen CMS; its bad input is named by system, table, column, code
set and value, never by a patient's value."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import CREATED_AT, PERIOD, BuiltMarts, isolated_env, run_cli
from iapt_idb import contract
from iapt_idb import source_systems as ss
from iapt_idb.paths import SOURCE_SYSTEMS_DIR
from iapt_idb.spec import table_names
from iapt_idb.warehouse.systems import meridian

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)

SYSTEM = meridian.NAME
FOLDER = SOURCE_SYSTEMS_DIR / SYSTEM


def _work_with_plans(work: Path, built: BuiltMarts) -> Path:
    """A work folder whose dbt target holds the Lumen build's compiled validation plans: they do not depend
    on the source system, so the Meridian build and both validations reuse them instead of compiling."""
    work.mkdir(parents=True, exist_ok=True)
    plans = built.target_path / "validation_plans"
    if plans.is_dir():
        shutil.copytree(plans, work / "target" / "validation_plans", dirs_exist_ok=True)
    return work


@pytest.fixture(scope="module")
def meridian_build(tmp_path_factory: pytest.TempPathFactory, built_marts: BuiltMarts) -> dict:
    work = _work_with_plans(tmp_path_factory.mktemp("meridian"), built_marts)
    warehouse, target_db = work / "wh.duckdb", work / "iapt.duckdb"  # same DB name as the Lumen build's
    env = isolated_env(work, warehouse, target_db)
    # the same settings as the session's small Lumen warehouse (conftest.small_warehouse)
    gen = run_cli(["generate", "--system", SYSTEM, "--out", str(warehouse), "--patients", "300", "--seed", "7",
                   "--defect-rate", "0.02", "--period", PERIOD, "--quiet"], env)
    assert gen.returncode == 0, gen.stderr[-3000:]
    build = run_cli(["--system", SYSTEM, "build", "--period", PERIOD, "--warehouse", str(warehouse),
                     "--target-db", str(target_db), "--created-at", CREATED_AT], env)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-6000:]
    return {"work": work, "warehouse": warehouse, "target_db": target_db, "env": env, "build": build}


def _validate(work: Path, target_db: Path, system: str, env: dict[str, str]) -> tuple[int, list[list[str]], dict]:
    report = work / "report"
    proc = run_cli(["--system", system, "validate", "--period", PERIOD, "--report", str(report),
                    "--target-db", str(target_db), "--no-gx"], env)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    with (report / "validation_report.csv").open(newline="", encoding="utf-8") as fh:
        rows = sorted(csv.reader(fh))
    return proc.returncode, rows, json.loads((report / "summary.json").read_text(encoding="utf-8"))


def _marts(target_db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        return {t: con.sql(f'select * from main."{t}" order by all').fetchall() for t in table_names()}
    finally:
        con.close()


def test_meridian_gives_the_same_idb_and_verdict_as_lumen(meridian_build: dict, built_marts: BuiltMarts,
                                                          tmp_path: Path) -> None:
    lumen, ours = _marts(built_marts.target_db), _marts(meridian_build["target_db"])
    # the header names the system in use; everything else is the same, row for row
    assert [r[3] for r in lumen["IDS000Header"]] == ["Lumen CMS"]
    assert [r[3] for r in ours["IDS000Header"]] == ["Meridian EPR"]
    assert [r[:3] + r[4:] for r in ours["IDS000Header"]] == [r[:3] + r[4:] for r in lumen["IDS000Header"]]
    for table in table_names()[1:]:
        assert ours[table] == lumen[table], table
    assert len(lumen["IDS201CareContact"]) > 50 and len(lumen["IDS607CodedScoreAssessmentAct"]) > 100

    lumen_env = isolated_env(_work_with_plans(tmp_path / "lumen", built_marts), built_marts.warehouse,
                             built_marts.target_db)
    l_exit, l_rows, l_summary = _validate(tmp_path / "lumen", built_marts.target_db, "lumen_cms", lumen_env)
    m_exit, m_rows, m_summary = _validate(meridian_build["work"], meridian_build["target_db"], SYSTEM,
                                          meridian_build["env"])
    assert m_exit == l_exit
    assert m_rows == l_rows  # rule code, severity, table, local record key, columns, message
    assert len(l_rows) > 20 and {r[0] for r in l_rows} >= {"IDS00132", "IDS20142"}  # defects survived the reshape
    assert m_summary == l_summary


def test_build_names_each_unmapped_code_by_system_column_code_set_and_value(meridian_build: dict) -> None:
    out = meridian_build["build"].stdout
    lines = [line.strip() for line in out.splitlines() if "has no row in mappings/" in line]
    assert lines, out
    assert all(line.startswith(f"system {SYSTEM}: epr.") and "(contract column " in line and ", code set " in line
               and "local code '" in line for line in lines), lines


def test_meridian_folder_is_complete_and_its_codes_are_its_own() -> None:
    assert ss.static_findings(SYSTEM, FOLDER) == []
    translation = meridian.code_translation()  # pairs each seed row with Lumen's: same national codes
    for code_set, pairs in translation.items():
        assert not set(pairs) & set(pairs.values()), code_set  # no Lumen local code is a Meridian one
    documented = ss.documented_sources(FOLDER)
    for e in contract.ENTITIES:
        for c in e.columns:
            cols = documented.get((e.system_model(SYSTEM), c.delivered))
            assert cols and all(x.startswith("epr.") for x in cols), (e.name, c.delivered)


def test_bad_input_is_named_by_system_table_column_code_set_and_value(meridian_build: dict, tmp_path: Path) -> None:
    broken = tmp_path / "broken.duckdb"
    shutil.copy(meridian_build["warehouse"], broken)
    con = duckdb.connect(str(broken))
    try:
        con.execute("drop table epr.clinician_qual")  # a missing source table
        con.execute("alter table epr.episode rename column sex_cd to gender_cd")  # a missing source column
        con.execute("insert into epr.client_disability select * from epr.client_disability limit 1")  # a duplicate key
        con.execute("update epr.contact set mode_cd = 'ZZ9' where contact_ref = "
                    "(select min(contact_ref) from epr.contact)")  # a local code with no mapping row
        identifiers = [v for row in con.sql("select nhs_num, cast(birth_dt as varchar) from epr.episode").fetchall()
                       for v in row if v]
    finally:
        con.close()
    nodes = json.loads((meridian_build["work"] / "target" / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    compiled = {e.name: nodes[f"model.iapt_idb.{e.system_model(SYSTEM)}"]["compiled_code"] for e in contract.ENTITIES}
    con = duckdb.connect()
    try:
        con.execute(f"attach '{broken}' as local_warehouse (read_only)")
        found = [str(f) for f in ss.live_findings(SYSTEM, FOLDER, compiled, con)]
    finally:
        con.close()
    text = "\n".join(found)
    expected = [
        f"system {SYSTEM}: warehouse table clinician_qual (entity staff_qualification) does not exist",
        f"system {SYSTEM}: model stg_meridian_epr__patient (table episode) does not run: Binder Error: "
        'Referenced column "sex_cd" not found in FROM clause!',
        f"system {SYSTEM}: table client_disability (entity patient_disability) has 1 duplicated value(s) of key "
        "disability_id",
        f"system {SYSTEM}: epr.contact.mode_cd (model stg_meridian_epr__appointment, code set therapy_mode): "
        "local code 'ZZ9' on 1 row(s) has no mapping row",
    ]
    for message in expected:
        assert message in text, text
    assert not [v for v in identifiers if v in text]


def test_generate_and_demo_refuse_a_system_with_no_synthetic_warehouse(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    for args in (["generate", "--system", "my_cms", "--out", str(tmp_path / "wh.duckdb")],
                 ["demo", "--system", "my_cms", "--out", str(tmp_path / "out")]):
        proc = run_cli(args, env)
        assert proc.returncode == 2, proc.stderr
        assert "no synthetic warehouse for source system 'my_cms': choose one of lumen_cms, meridian_epr" in proc.stderr
    assert not (tmp_path / "wh.duckdb").exists() and not (tmp_path / "out").exists()
