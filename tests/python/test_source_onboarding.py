"""A third source system, connected by adding only its own folder and settings, builds a valid IDB;
a broken one gets a checklist naming system, table, column and code set, never a patient value."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

from conftest import PERIOD, CREATED_AT, isolated_env, run_cli
from fixtures.tiny_source import OWN_TABLES, fill_in_scaffold, make_tiny_warehouse
from iapt_idb.paths import ROOT

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, small_warehouse: Path) -> dict:
    work = tmp_path_factory.mktemp("tiny_source")
    warehouse = make_tiny_warehouse(small_warehouse, work / "tiny.duckdb")
    systems = work / "systems"
    env = isolated_env(work, warehouse, work / "idb.duckdb")
    env["IAPT_SOURCE_SYSTEMS_DIR"] = str(systems)
    return {"work": work, "warehouse": warehouse, "systems": systems, "env": env}


def test_a_new_system_folder_builds_a_valid_idb_and_changes_nothing_else(tiny: dict) -> None:
    before = _git_status()
    env, work = tiny["env"], tiny["work"]
    new = run_cli(["source", "new", "tiny"], env)
    assert new.returncode == 0, new.stderr
    fill_in_scaffold(tiny["systems"] / "tiny", "tiny")

    check = run_cli(["--system", "tiny", "source", "check", "--warehouse", str(tiny["warehouse"])], env)
    assert "has no column" not in check.stdout and "does not exist" not in check.stdout, check.stdout

    build = run_cli(["--system", "tiny", "build", "--period", PERIOD, "--warehouse", str(tiny["warehouse"]),
                     "--target-db", str(work / "idb.duckdb"), "--created-at", CREATED_AT], env)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-6000:]
    mart_rows = {line.split()[0]: line.split()[-1] for line in build.stdout.splitlines() if line.startswith("IDS")}
    assert mart_rows["IDS001MPI"] not in {"0", "-"} and mart_rows["IDS101Referral"] not in {"0", "-"}
    # dbt writes compiled SQL to a model's own path when its folder is outside the project: never over it
    assert all("{{ source('tiny', " in p.read_text(encoding="utf-8") for p in (tiny["systems"] / "tiny").glob("stg_*.sql"))

    validate = run_cli(["--system", "tiny", "validate", "--period", PERIOD, "--report", str(work / "report"),
                        "--target-db", str(work / "idb.duckdb"), "--no-gx"], env)
    assert validate.returncode == 0, validate.stdout[-3000:] + validate.stderr[-3000:]
    assert _git_status() == before, "onboarding a system must not change any file of the project"


def test_check_names_system_table_column_and_code_set_never_a_patient_value(tiny: dict) -> None:
    env = tiny["env"]
    assert run_cli(["source", "new", "broken"], env).returncode == 0
    folder = tiny["systems"] / "broken"
    fill_in_scaffold(folder, "broken")
    patient = folder / "stg_broken__patient.sql"
    sql = patient.read_text(encoding="utf-8")
    sql = sql.replace("cast(f_nhs_number as {{ sql_type('string') }}) as nhs_number,", "")
    sql = sql.replace("cast(f_birth_date as {{ sql_type('date') }}) as birth_date", "cast(f_birth_date as varchar) as birth_date")
    patient.write_text(sql, encoding="utf-8")
    sources = folder / "_broken__sources.yml"
    sources.write_text(sources.read_text(encoding="utf-8").replace(f"identifier: {OWN_TABLES['staff']}\n",
                                                                   "identifier: no_such_table\n"), encoding="utf-8")
    import duckdb

    con = duckdb.connect(str(tiny["warehouse"]), read_only=True)
    try:
        dropped = con.sql("select f_sex_local from clinic.persons group by 1 order by count(*) desc limit 1").fetchone()[0]
        values = con.sql("select f_nhs_number, cast(f_birth_date as varchar) from clinic.persons").fetchall()
    finally:
        con.close()
    seed = folder / "mappings" / "map_sex.csv"
    with seed.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["local_code"] != dropped]
    seed.write_text("local_code,national_code,local_description\n"
                    + "".join(f"{r['local_code']},{r['national_code']},{r['local_description']}\n" for r in rows),
                    encoding="utf-8")

    check = run_cli(["--system", "broken", "source", "check", "--warehouse", str(tiny["warehouse"])], env)
    out = check.stdout
    assert check.returncode == 1, out + check.stderr[-3000:]
    assert "system broken: model stg_broken__patient has no column nhs_number (string)" in out
    assert "system broken: model stg_broken__patient column birth_date is varchar, the contract says date" in out
    assert "system broken: warehouse table no_such_table (entity staff) does not exist" in out
    assert f"system broken: table persons column sex_local (model stg_broken__patient, code set sex): local code '{dropped}'" in out, out
    for nhs, dob in values:
        assert (not nhs or nhs not in out + check.stderr) and (not dob or dob not in out + check.stderr)


def test_a_missing_contract_column_fails_the_build_with_dbts_contract_message(tiny: dict) -> None:
    env = tiny["env"]
    assert run_cli(["source", "new", "lacking"], env).returncode == 0
    folder = tiny["systems"] / "lacking"
    fill_in_scaffold(folder, "lacking")
    model = folder / "stg_lacking__staff.sql"
    model.write_text(model.read_text(encoding="utf-8").replace(
        "cast(f_job_role as {{ sql_type('string') }}) as job_role", "cast(f_job_role as integer) as job_role"),
        encoding="utf-8")
    work = tiny["work"] / "lacking"
    build = run_cli(["--system", "lacking", "build", "--period", PERIOD, "--warehouse", str(tiny["warehouse"]),
                     "--target-db", str(work / "idb.duckdb"), "--select", "+stg_staff"], env)
    out = build.stdout + build.stderr
    assert build.returncode == 2, out[-3000:]
    assert "stg_staff" in out and "job_role" in out and "contract" in out.lower(), out[-4000:]
