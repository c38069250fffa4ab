"""A build never passes for another month, a bad warehouse row is a finding, and no made-up provider code.

* Build provenance: marts left by a failed (or killed) build, by several builds, or by another period's
  build are refused by `validate` and `export` (exit 2, a message naming the state and what to run, no
  patient data); the validation models run by dbt do not touch the record.
* A duplicate patient and a NULL referral key in the warehouse build (exit 0) and are reported by
  `validate` with their rule codes and local keys.
* Without a provider ODS code `build` refuses (exit 2) and validating a foreign IDB reports IDS00030 /
  IDS00033 as not checked; with --provider-ods they are checked.
* `build --no-measures` builds the 21 marts from one complete build (what validate and export require) and
  drops the measures an earlier build left, so `measures` says to build them instead of printing another
  build's figures.

One tiny warehouse (60 patients, no generated defects), marts only where the test allows (--select).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

import validation_fixtures as vf
from conftest import isolated_env, run_cli
from process_asserts import kill_and_expect_gone
from iapt_idb import provenance

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)

CREATED_AT = "2026-11-05T09:00:00"
MARTS_ONLY = ["+path:models/marts/idb"]


def _nhs_numbers(warehouse: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {n for (n,) in con.execute("select nhs_no from cms.patient where nhs_no is not null").fetchall()}
    finally:
        con.close()


def _no_patient_data(text: str, warehouse: Path) -> None:
    leaked = [n for n in _nhs_numbers(warehouse) if n and n in text]
    assert not leaked, "an NHS number from the warehouse is in the output"
    assert not re.search(r"\b(19|20)\d\d-\d\d-\d\d\b(?!T)", text.replace(CREATED_AT, "")), "a date is quoted"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("tiny_warehouse")
    out = work / "wh.duckdb"
    proc = run_cli(["generate", "--out", str(out), "--patients", "60", "--seed", "3", "--defect-rate", "0",
                    "--period", "2026-10", "--quiet"], isolated_env(work))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _build(work: Path, warehouse: Path, target: Path, period: str, *extra: str,
           env_extra: dict[str, str] | None = None):
    env = isolated_env(work, warehouse, target)
    env.update(env_extra or {})
    return run_cli(["build", "--period", period, "--warehouse", str(warehouse), "--target-db", str(target),
                    "--created-at", CREATED_AT, *extra], env)


# --------------------------------------------------------------------------- provenance


def test_a_failed_build_of_another_month_is_refused(tiny: Path, tmp_path: Path) -> None:
    target = tmp_path / "iapt.duckdb"
    # the test's own copy, broken in place below: the same paths for both months, so that the second build
    # starts from the parse dbt saved in the first (a profile naming another warehouse file is parsed again)
    wh = tmp_path / "wh.duckdb"
    shutil.copyfile(tiny, wh)
    # no validation plan at build time: these checks refuse before any validation runs
    no_plan = {"IAPT_VALIDATE_WITH_DBT": "1"}
    # what DuckDB spilled during a killed build (pieces of the marts) is gone after the next one
    spill = Path(str(target) + ".tmp")
    spill.mkdir()
    (spill / "duckdb_temp_storage_DEFAULT-0.tmp").write_bytes(b"spilled rows")
    sep = _build(tmp_path, wh, target, "2026-09", "--select", *MARTS_ONLY, env_extra=no_plan)
    assert sep.returncode == 0, sep.stderr[-3000:]
    assert not spill.exists()
    stamps = provenance.read_manifest(target)
    assert stamps and {s.status for s in stamps.values()} == {"complete"}
    assert {s.period for s in stamps.values()} == {"2026-09"} and len({s.build_id for s in stamps.values()}) == 1
    assert provenance.build_problem(target, "2026-09") is None
    assert "built for 2026-09, not 2026-10" in provenance.build_problem(target, "2026-10")

    # October fails midway (a warehouse table is missing): its header may sit beside September's rows
    con = duckdb.connect(str(wh))
    con.execute("drop table cms.staff_qualification")
    con.close()
    oct_ = _build(tmp_path, wh, target, "2026-10", "--select", *MARTS_ONLY, env_extra=no_plan)
    assert oct_.returncode == 2
    assert {s.status for s in provenance.read_manifest(target).values()} == {"failed"}

    env = {**isolated_env(tmp_path, wh, target), **no_plan}
    for period in ("2026-10", "2026-09"):
        v = run_cli(["validate", "--period", period, "--target-db", str(target), "--report",
                     str(tmp_path / f"r_{period}"), "--no-gx"], env)
        assert v.returncode == 2, v.stdout + v.stderr[-2000:]
        assert "failed" in v.stderr and "period 2026-10" in v.stderr
        assert f"iapt-idb build --period {period}" in v.stderr
        assert "accepted" not in v.stdout
        assert not (tmp_path / f"r_{period}" / "summary.json").exists()
        _no_patient_data(v.stdout + v.stderr, tiny)
    out = tmp_path / "idb" / "IDB.accdb"
    out.parent.mkdir()
    x = run_cli(["export", "--period", "2026-10", "--target-db", str(target), "--out", str(out), "--quiet"], env)
    assert x.returncode == 2, x.stderr[-2000:]
    assert "failed" in x.stderr and "iapt-idb build --period 2026-10" in x.stderr
    assert not out.exists() and not list(out.parent.iterdir())
    _no_patient_data(x.stdout + x.stderr, tiny)


def _stamped(folder: Path, rows: list[tuple[str, str, str, str]] | None) -> Path:
    """A target DB with the 21 marts (empty) and a manifest of (table, period, build id, status) rows
    (None: no manifest at all)."""
    from iapt_idb.spec import table_names

    folder.mkdir()
    db = folder / "iapt.duckdb"
    con = duckdb.connect(str(db))
    try:
        for t in table_names():
            con.execute(f'create table main."{t}" (x integer)')
        if rows is not None:
            con.execute(f"create table {provenance.MANIFEST} (table_name varchar, period varchar, "
                        "build_id varchar, status varchar, started_at varchar, completed_at varchar)")
            con.executemany(f"insert into {provenance.MANIFEST} values (?, ?, ?, ?, ?, null)",
                            [[t, p, b, s, f"2026-11-0{1 if b == 'b1' else 2}T00:00:00"] for t, p, b, s in rows])
    finally:
        con.close()
    return db


def test_a_killed_build_a_mixed_build_and_no_record_are_refused(tmp_path: Path) -> None:
    from iapt_idb.errors import UserError
    from iapt_idb.spec import table_names

    names = table_names()
    # killed: on-run-start marked the marts 'building', on-run-end never ran
    killed = _stamped(tmp_path / "killed", [(t, "2026-10", "b2", "building") for t in names])
    with pytest.raises(UserError, match="did not finish") as err:
        provenance.require_complete_build(killed, "2026-10")
    assert err.value.exit_code == 2
    # two builds: IDS101 rebuilt alone for October after a September build of all 21
    mixed = _stamped(tmp_path / "mixed", [
        (t, "2026-10", "b2", "complete") if t == "IDS101Referral" else (t, "2026-09", "b1", "complete")
        for t in names])
    problem = provenance.build_problem(mixed, "2026-10")
    assert problem and "2 builds" in problem and "periods 2026-09, 2026-10" in problem
    stale = problem.split("; ")[1].split(" predate")[0]
    assert "IDS000Header" in stale and "IDS101Referral" not in stale and "and 15 more" in stale
    assert "latest build (id b2, period 2026-10)" in problem
    with pytest.raises(UserError):
        provenance.require_complete_build(mixed, "2026-09")
    # one complete build of the period: accepted; of another period: refused
    good = _stamped(tmp_path / "good", [(t, "2026-10", "b1", "complete") for t in names])
    assert provenance.build_problem(good, "2026-10") is None
    assert "built for 2026-10, not 2026-11" in provenance.build_problem(good, "2026-11")
    # marts written without any build record
    assert "no build record" in provenance.build_problem(_stamped(tmp_path / "bare", None), "2026-10")


def test_the_build_spill_folder_is_private_and_removed_whatever_happens(tmp_path: Path) -> None:
    from iapt_idb.commands.build import duckdb_spill_folder

    target = tmp_path / "iapt.duckdb"
    left = Path(str(target) + ".tmp")
    left.mkdir()
    (left / "duckdb_temp_storage_S32K-0.tmp").write_bytes(b"left by a killed build")
    with pytest.raises(RuntimeError):
        with duckdb_spill_folder(target) as folder:
            assert folder == left and list(folder.iterdir()) == []
            assert folder.stat().st_mode & 0o777 == 0o700
            (folder / "duckdb_temp_storage_DEFAULT-0.tmp").write_bytes(b"spilled")
            raise RuntimeError("dbt failed")
    assert not left.exists()


def test_a_build_out_of_memory_runs_again_one_model_at_a_time_then_says_what_to_raise(tiny: Path,
                                                                                      tmp_path: Path) -> None:
    """DuckDB out of memory in the build: the step runs again with one model at a time; when that fails too,
    exit 2 naming the setting to raise, and no patient data in the messages."""
    target = tmp_path / "iapt.duckdb"
    proc = _build(tmp_path, tiny, target, "2026-10", "--select", *MARTS_ONLY,
                  env_extra={"IAPT_DUCKDB_MEMORY_LIMIT": "20MB"})
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "DuckDB ran out of memory (memory_limit: 20MB)" in proc.stderr
    assert "building again, one model at a time" in proc.stderr
    assert "raise its ceiling (IAPT_DUCKDB_MEMORY_LIMIT, now: 20MB)" in proc.stderr
    _no_patient_data(proc.stdout + proc.stderr, tiny)
    assert not Path(str(target) + ".tmp").exists(), "the spill folder was left behind"


# --------------------------------------------------------------------------- bad rows are findings


def test_duplicate_patient_and_null_referral_key_are_findings(tiny: Path, tmp_path: Path) -> None:
    wh = tmp_path / "bad.duckdb"
    shutil.copyfile(tiny, wh)
    con = duckdb.connect(str(wh))
    try:
        open_refs = ("select referral_id, patient_id from cms.referral where received_on <= date '2026-10-31' "
                     "and (discharged_on is null or discharged_on >= date '2026-10-01') order by referral_id")
        refs = con.execute(open_refs).fetchall()
        dup_patient = refs[0][1]
        null_ref = next(r for r, p in reversed(refs) if p != dup_patient)
        con.execute("insert into cms.patient select * from cms.patient where patient_id = ?", [dup_patient])
        con.execute("update cms.referral set patient_id = null where referral_id = ?", [null_ref])
    finally:
        con.close()
    target = tmp_path / "iapt.duckdb"
    built = _build(tmp_path, wh, target, "2026-10")
    assert built.returncode == 0, built.stderr[-4000:]
    assert "NOT NULL constraint failed" not in built.stderr

    env = isolated_env(tmp_path, wh, target)
    v = run_cli(["validate", "--period", "2026-10", "--target-db", str(target), "--report", str(tmp_path / "r"),
                 "--no-gx"], env)
    assert v.returncode == 1, v.stderr[-3000:]  # a duplicated patient rejects the whole file (IDSREJ010)
    failures = json.loads((tmp_path / "r" / "validation_report.json").read_text())
    keys = {(f["rule_code"], f["record_key"]) for f in failures}
    assert ("IDSREJ010", f"LocalPatientId={dup_patient}") in keys
    blank = [f for f in failures if f["rule_code"] == "IDS10106" and f["table"] == "IDS101Referral"]
    assert len(blank) == 1 and re.fullmatch(r"ServiceRequestId=\S+;LocalPatientId=", blank[0]["record_key"]), blank
    _no_patient_data(v.stdout + v.stderr, wh)
    assert not [n for n in _nhs_numbers(wh) if n in json.dumps(failures)]


# --------------------------------------------------------------------------- the IDB without the measures


def test_a_build_without_the_measures_is_complete_and_leaves_no_earlier_measures(tiny: Path, tmp_path: Path) -> None:
    from iapt_idb.commands.build import measures_models
    from iapt_idb.spec import table_names

    target = tmp_path / "iapt.duckdb"
    with duckdb.connect(str(target)) as con:  # what an earlier build with the measures left: tables and views
        con.execute("create table main.measures_headline as select 1 as measure_value")
        con.execute("create table main.int_measures__paired_scores as select 1 as score_count")
        con.execute("create view main.int_measures__outcomes as select 1 as has_paired_scores")
        con.execute("create table main.provider_notes as select 1 as kept")  # not the project's: untouched
    # no validation plan at build time: the marts' build record is what validate and export check first
    built = _build(tmp_path, tiny, target, "2026-10", "--no-measures", env_extra={"IAPT_VALIDATE_WITH_DBT": "1"})
    assert built.returncode == 0, built.stderr[-4000:]
    assert "--exclude path:models/validation test_type:unit source:* path:models/intermediate/measures " \
           "path:models/marts/measures" in built.stderr
    with duckdb.connect(str(target), read_only=True) as con:
        names = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    assert set(table_names()) <= names and "provider_notes" in names
    assert not names & set(measures_models()), names & set(measures_models())
    assert provenance.build_problem(target, "2026-10") is None

    env = isolated_env(tmp_path, tiny, target)
    shown = run_cli(["measures", "--period", "2026-10", "--target-db", str(target)], env)
    assert shown.returncode == 2 and "without --no-measures" in shown.stderr, shown.stderr[-2000:]

    both = _build(tmp_path, tiny, target, "2026-10", "--no-measures", "--select", *MARTS_ONLY)
    assert both.returncode == 2 and "cannot be combined" in both.stderr


# --------------------------------------------------------------------------- provider ODS code


def test_build_refuses_without_a_provider_code(tiny: Path, tmp_path: Path) -> None:
    env = isolated_env(tmp_path, tiny, tmp_path / "iapt.duckdb")
    env.pop("IAPT_PROVIDER_ODS")
    proc = run_cli(["build", "--period", "2026-10", "--warehouse", str(tiny), "--target-db",
                    str(tmp_path / "iapt.duckdb")], env)
    assert proc.returncode == 2
    assert "no provider ODS code" in proc.stderr and "--provider-ods" in proc.stderr
    assert not (tmp_path / "iapt.duckdb").exists()


def test_foreign_idb_without_provider_code_is_not_checked_not_rejected(tmp_path: Path) -> None:
    src = vf.write_csv_dir(vf.valid_idb(1), tmp_path / "csv")
    wh = tmp_path / "empty_warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema cms")
    con.close()
    env = isolated_env(tmp_path, wh)
    env.pop("IAPT_PROVIDER_ODS")
    env["IAPT_VALIDATE_SCRATCH"] = str(tmp_path / "scratch")

    v = run_cli(["validate", str(src), "--period", vf.PERIOD, "--report", str(tmp_path / "r0"), "--no-gx"], env)
    assert v.returncode == 0, v.stdout + v.stderr[-3000:]
    summary = json.loads((tmp_path / "r0" / "summary.json").read_text())
    assert summary["predicted_outcome"] == "accepted"
    assert [n["rule_code"] for n in summary["not_checked"]] == ["IDS00030", "IDS00033"]
    assert all("--provider-ods" in n["reason"] for n in summary["not_checked"])
    codes = {r["rule_code"] for r in summary["rules"]}
    assert not codes & {"IDS00030", "IDS00033", "IDSREJ015"}
    assert "Not checked: IDS00030" in v.stdout and "Not checked: IDS00033" in v.stdout

    # with the uploading organisation given, both rules compare again: another provider's file is rejected
    c = run_cli(["validate", str(src), "--period", vf.PERIOD, "--report", str(tmp_path / "r1"), "--no-gx",
                 "--provider-ods", "RYY"], env)
    assert c.returncode == 1, c.stdout + c.stderr[-3000:]
    checked = json.loads((tmp_path / "r1" / "summary.json").read_text())
    assert "not_checked" not in checked
    assert {"IDS00030", "IDS00033"} <= {r["rule_code"] for r in checked["rules"]}
    assert "Not checked" not in c.stdout


def _dbt_children(pid: int) -> list[int]:
    """The child processes of ``pid`` that run dbt (a process may end while it is read)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found += [int(c) for c in (task / "children").read_text().split()
                      if b"dbt" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return found


def test_dbt_ends_when_the_build_is_killed_outright(tiny: Path, tmp_path: Path) -> None:
    """SIGKILL (or the out-of-memory killer) on `iapt-idb build` leaves no dbt building on into the target DB,
    holding its lock, with nobody left to clean up after it."""
    import subprocess
    import time

    from conftest import CLI
    from iapt_idb.paths import ROOT

    target = tmp_path / "iapt.duckdb"
    env = isolated_env(tmp_path, tiny, target)
    build = subprocess.Popen([CLI, "build", "--period", "2026-10", "--warehouse", str(tiny), "--target-db",
                              str(target), "--created-at", CREATED_AT, "--select", *MARTS_ONLY], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dbt: list[int] = []
        deadline = time.monotonic() + 120
        while not dbt and build.poll() is None and time.monotonic() < deadline:
            dbt = _dbt_children(build.pid)
            time.sleep(0.05)
        assert dbt, "dbt did not start"
        log = tmp_path / "logs" / "dbt.log"  # dbt under way: it has started its log
        while not (log.exists() and log.stat().st_size) and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert build.poll() is None, "the build ended before it could be killed"
        kill_and_expect_gone(build, dbt, "dbt")
    finally:
        build.kill()
        build.wait()


def test_a_build_is_refused_while_another_process_reads_or_writes_its_target(tiny: Path, tmp_path: Path) -> None:
    """The build takes the target DB's exclusive lock before dbt starts: a validate or export reading the marts
    (shared lock) or another build is met with exit 2 and the holder named, never a DuckDB lock error."""
    from iapt_idb import runlock

    target = tmp_path / "idb.duckdb"
    with runlock.hold(target, "validating the marts", shared=True):
        proc = _build(tmp_path, tiny, target, "2026-10", "--select", *MARTS_ONLY)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "another iapt-idb process" in proc.stderr and str(target) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not target.exists()  # dbt never started
