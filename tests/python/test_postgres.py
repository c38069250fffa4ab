"""The postgres target on a real PostgreSQL server: the same month as the DuckDB run, and clean failures.

The shared small warehouse is loaded into PostgreSQL (`iapt-idb load-warehouse`) and built there
(`IAPT_DBT_TARGET=postgres iapt-idb build`); its marts, validation report and IDB must equal those of the
DuckDB build of the same warehouse, seed and period (`built_marts`). A server that is not there, a wrong
password, a missing schema or source table is exit 2 with one line naming it, and the password is never
printed or written anywhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import CREATED_AT, PERIOD, BuiltMarts, isolated_env, run_cli
from iapt_idb.paths import ROOT
from pg_fixtures import PG_PASSWORD, PgServer, free_port, pg_server  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class PgRun:
    work: Path
    env: dict[str, str]
    outputs: list[str]  # everything the commands printed


def _norm(v: Any) -> Any:
    """A value compared across engines: numbers as rounded floats, dates and times as ISO text."""
    if isinstance(v, (Decimal, float)):
        return round(float(v), 6)
    if isinstance(v, (dt.date, dt.time, dt.datetime)):
        return v.isoformat()
    return v


MANIFEST = "idb_build_manifest"  # columns: table_name, period, build_id, status, started_at, completed_at


def _tables(db: Path, schema: str = "main",
            warehouse: Path | None = None) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every base table of ``schema``: its columns and its rows, normalised and sorted. With ``warehouse`` (the
    DuckDB build's, which its staging views read), every view too: a model that is a table on PostgreSQL may be
    a view on DuckDB (macro one_reader_materialization)."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        kinds = ["BASE TABLE"]
        if warehouse is not None:
            con.execute(f"attach '{warehouse}' as local_warehouse (read_only)")
            kinds.append("VIEW")
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? and list_contains(?, table_type)",
            [schema, kinds]).fetchall()]
        for name in names:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, name]).fetchall()]
            rows = con.execute(f'select * from "{schema}"."{name}"').fetchall()
            out[name] = (cols, sorted((tuple(_norm(v) for v in r) for r in rows), key=repr))
    return out


def _pg_cli(run: PgRun, args: list[str], **env: str) -> Any:
    proc = run_cli(args, {**run.env, **env})
    run.outputs.extend([proc.stdout, proc.stderr])
    return proc


@pytest.fixture(scope="module")
def pg_run(pg_server: PgServer, small_warehouse: Path, built_marts: BuiltMarts,
           tmp_path_factory: pytest.TempPathFactory) -> PgRun:
    work = tmp_path_factory.mktemp("pg_run")
    env = {**isolated_env(work, target_db=work / built_marts.target_db.name), **pg_server.env()}
    run = PgRun(work, env, [])
    # The snapshot takes the target DB's name, so the validation plan the DuckDB build compiled serves it too.
    shutil.copytree(built_marts.target_path / "validation_plans", work / "target" / "validation_plans")
    proc = _pg_cli(run, ["load-warehouse", "--warehouse", str(small_warehouse)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    # --full-checks: dbt's unit tests and the source-table tests run on PostgreSQL too
    proc = _pg_cli(run, ["build", "--period", PERIOD, "--created-at", CREATED_AT, "--full-checks"])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "schema iapt_idb" in proc.stdout
    return run


@pytest.fixture(scope="module")
def pg_marts(pg_run: PgRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the PostgreSQL model tables, as validate/export read them."""
    import os

    from iapt_idb import pg

    dest = tmp_path_factory.mktemp("pg_marts") / "marts.duckdb"
    saved = dict(os.environ)
    os.environ.update(pg_run.env)
    try:
        with pg.marts_snapshot() as snapshot:
            shutil.copyfile(snapshot, dest)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return dest


def test_postgres_build_gives_the_duckdb_marts_row_for_row(pg_marts: Path, built_marts: BuiltMarts) -> None:
    on_pg, on_duck = _tables(pg_marts), _tables(built_marts.target_db, warehouse=built_marts.warehouse)
    idb = [t for t in on_duck if t.startswith("IDS")]
    assert len(idb) == 21 and {"measures_headline", "measures_referral_pathway", "int_referrals__scoped"} <= set(on_pg)
    # the build record names each run's own id and times: the same marts, period and status on both engines
    manifest = {e: sorted(r[:2] + r[3:4] for r in on[MANIFEST][1]) for e, on in (("pg", on_pg), ("duck", on_duck))}
    assert manifest["pg"] == manifest["duck"] and {r[2] for r in manifest["pg"]} == {"complete"}
    for name in sorted(set(on_pg) - {MANIFEST}):
        assert name in on_duck, f"{name} is built in PostgreSQL but not in DuckDB"
        cols, rows = on_duck[name]
        assert on_pg[name][0] == cols, f"{name}: columns differ"
        assert on_pg[name][1] == rows, f"{name}: rows differ between PostgreSQL and DuckDB"
    assert set(idb) <= set(on_pg)
    assert sum(len(on_pg[t][1]) for t in idb) > 500


def test_every_postgres_macro_variant_runs_in_the_postgres_build(pg_run: PgRun) -> None:
    """A postgres__ variant no PostgreSQL model uses would be untested code: each one's dispatcher must be
    a dependency of a model the build ran in PostgreSQL."""
    import json
    import re

    from iapt_idb.paths import ROOT

    variants = {m for p in (ROOT / "macros").rglob("*.sql")
                for m in re.findall(r"macro\s+postgres__(\w+)\s*\(", p.read_text(encoding="utf-8"))}
    assert variants, "no postgres__ macro left: then this test has nothing to check"
    target = pg_run.work / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    ran = {r["unique_id"] for r in json.loads((target / "run_results.json").read_text())["results"]
           if r["status"] in ("success", "pass")}
    used = {m.rsplit(".", 1)[-1] for uid in ran if uid in manifest["nodes"]
            for m in manifest["nodes"][uid].get("depends_on", {}).get("macros", [])}
    assert not variants - used, f"postgres__ variants no model built in PostgreSQL uses: {sorted(variants - used)}"


def _report(folder: Path) -> list[tuple[str, ...]]:
    with (folder / "validation_report.csv").open(newline="") as f:
        return sorted(tuple(r[k] for k in ("rule_code", "severity", "table", "record_key", "columns"))
                      for r in csv.DictReader(f))


@pytest.fixture(scope="module")
def duck_validated(built_marts: BuiltMarts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("duck_validate")
    db = work / "iapt.duckdb"
    shutil.copyfile(built_marts.target_db, db)
    env = isolated_env(work, built_marts.warehouse, db)
    shutil.copytree(built_marts.target_path / "validation_plans", work / "target" / "validation_plans")
    report = work / "report"
    proc = run_cli(["validate", "--period", PERIOD, "--report", str(report), "--target-db", str(db), "--no-gx"], env)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return report


def test_postgres_validation_report_equals_duckdb(pg_run: PgRun, duck_validated: Path) -> None:
    report = pg_run.work / "report"
    proc = _pg_cli(pg_run, ["validate", "--period", PERIOD, "--report", str(report), "--no-gx"],
                   IAPT_IDB_DEBUG="1")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    expected = _report(duck_validated)
    assert expected, "the small warehouse has defects: the report cannot be empty"
    assert _report(report) == expected
    assert (report / "validation_report.csv").read_bytes() == (duck_validated / "validation_report.csv").read_bytes()


@pytest.mark.java
def test_postgres_export_writes_the_duckdb_idb_rows(pg_run: PgRun, built_marts: BuiltMarts,
                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("duck_export")
    db = work / "iapt.duckdb"
    shutil.copyfile(built_marts.target_db, db)
    duck_idb, pg_idb = work / "duck.accdb", pg_run.work / "pg.accdb"
    # --force: the synthetic month carries whole-file defects by design; the rows written are what is compared
    proc = run_cli(["export", "--period", PERIOD, "--out", str(duck_idb), "--target-db", str(db), "--quiet", "--force"],
                   isolated_env(work, built_marts.warehouse, db))
    assert proc.returncode == 1, proc.stderr[-3000:]  # written under --force, the whole file predicted rejected
    proc = _pg_cli(pg_run, ["export", "--period", PERIOD, "--out", str(pg_idb), "--quiet", "--force"])
    assert proc.returncode == 1, proc.stderr[-3000:]
    read = {"duck": _mdb_rows(duck_idb), "pg": _mdb_rows(pg_idb)}
    assert len(read["duck"]) == 21 and sum(len(r) for r in read["duck"].values()) > 500
    for table, rows in read["duck"].items():
        assert read["pg"][table] == rows, f"{table}: the IDB rows differ between PostgreSQL and DuckDB"


def _mdb_rows(accdb: Path) -> dict[str, list[list[str]]]:
    """Every IDB table's rows as mdbtools reads them (header first, then the rows sorted)."""
    import subprocess

    from iapt_idb.spec import table_names

    out = {}
    for table in table_names():
        text = subprocess.run(["mdb-export", "-D", "%Y-%m-%d %H:%M:%S", str(accdb), table], text=True,
                              capture_output=True, check=True).stdout
        rows = list(csv.reader(text.splitlines()))
        out[table] = rows[:1] + sorted(rows[1:])
    return out


def test_postgres_measures_and_docs_run_and_the_password_is_nowhere(pg_run: PgRun) -> None:
    proc = _pg_cli(pg_run, ["measures", "--period", PERIOD])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Entering treatment" in proc.stdout or "entering treatment" in proc.stdout.lower()
    report = pg_run.work / "report"
    if not report.is_dir():
        report = pg_run.work / "report_docs"
        proc = _pg_cli(pg_run, ["validate", "--period", PERIOD, "--report", str(report), "--no-gx"])
        # a verdict either way (0 accepted, 1 rejected): run alone, this test makes the report the docs need
        assert proc.returncode in (0, 1) and (report / "summary.json").is_file(), proc.stderr[-3000:]
    site = pg_run.work / "site"
    proc = _pg_cli(pg_run, ["docs", "--period", PERIOD, "--out", str(site), "--report", str(report)])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert (site / "index.html").is_file() and any(site.rglob("dbt-docs/index.html"))
    for text in pg_run.outputs:
        assert PG_PASSWORD not in text
    needle = PG_PASSWORD.encode()
    files = [p for p in pg_run.work.rglob("*") if p.is_file()]
    assert any(p.parts[-2:] == ("target", "manifest.json") for p in files)
    leaked = [str(p.relative_to(pg_run.work)) for p in files if needle in p.read_bytes()]
    assert not leaked, f"the PostgreSQL password is written in {leaked}"


def _readme_postgres_block() -> list[str]:
    """The commands of the README's "Your warehouse on PostgreSQL" block, line by line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("**Your warehouse on PostgreSQL.**", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


TEST_PREFIX = "README_TEST_"


def test_the_readme_postgres_commands_work_as_written(pg_server: PgServer, tmp_path: Path) -> None:
    lines = _readme_postgres_block()
    first_command = next(i for i, line in enumerate(lines) if line.startswith("iapt-idb "))
    assert first_command >= 3 and all(line.startswith("iapt-idb ") for line in lines[first_command:])
    con = pg_server.connect()  # a database of its own: the module's runs keep theirs
    try:
        con.autocommit = True
        con.cursor().execute("create database readme_try")
    finally:
        con.close()
    server = {**pg_server.env(), "IAPT_PG_DBNAME": "readme_try"}
    # the README's lines as written; this server's connection values replace the example ones before the
    # first command (the password line reads a terminal, which a test does not have)
    # the values travel in the environment under other names, so the password is never on a command line
    ours = [f'export {k}="${TEST_PREFIX}{k}"' for k in server if k != "IAPT_PG_SCHEMA"]
    script = "\n".join(["set -eu -o pipefail", *lines[:first_command], *ours, *lines[first_command:]])
    env = {**isolated_env(tmp_path), "IAPT_IDB_PROJECT_DIR": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for k in list(env):
        if k.startswith("IAPT_PG_") or k in ("IAPT_DBT_TARGET", "IAPT_PROVIDER_ODS", "IAPT_WAREHOUSE_PATH"):
            del env[k]  # only what the README sets
    env.update({f"{TEST_PREFIX}{k}": v for k, v in server.items()})
    assert PG_PASSWORD not in script
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, text=True, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    idb = tmp_path / "output" / "pg_try" / "IAPT_IDB_2026-10.accdb"
    assert idb.is_file() and (tmp_path / "output" / "pg_try" / "validation" / "summary.json").is_file()
    assert PG_PASSWORD not in proc.stdout + proc.stderr


# --- faults: exit 2, one line naming what is wrong, no traceback, no password -----------------------------

def _fault(pg_server: PgServer, tmp_path: Path, args: list[str], **env: str) -> str:
    run_env = {**isolated_env(tmp_path), **pg_server.env(), **env}
    proc = run_cli(args, run_env, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("iapt-idb "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for secret in (PG_PASSWORD, env.get("IAPT_PG_PASSWORD", PG_PASSWORD)):
        assert secret not in proc.stderr + proc.stdout
        assert not [p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    return lines[0]


def test_a_build_without_the_measures_drops_an_earlier_builds_measures_in_postgres(
        pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`build --no-measures` on the postgres target drops the measures' tables and views of its schema (and
    what depends on them), in one transaction, and leaves every other relation."""
    from iapt_idb.commands.build import drop_measures

    schema = "no_measures_here"
    for name, value in pg_server.env(schema).items():
        monkeypatch.setenv(name, value)
    con = pg_server.connect()
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(f"drop schema if exists {schema} cascade")
            cur.execute(f"create schema {schema}")
            cur.execute(f"create table {schema}.int_measures__paired_scores (score_count int)")
            cur.execute(f"create view {schema}.int_measures__outcomes as "
                        f"select * from {schema}.int_measures__paired_scores")
            cur.execute(f"create table {schema}.measures_headline (measure_value int)")
            cur.execute(f'create table {schema}."IDS101Referral" ("ServiceRequestId" text)')
        drop_measures(None)
        with con.cursor() as cur:
            cur.execute("select table_name from information_schema.tables where table_schema = %s", [schema])
            assert {r[0] for r in cur.fetchall()} == {"IDS101Referral"}
            cur.execute(f"drop schema {schema} cascade")
    finally:
        con.close()


@pytest.mark.parametrize("command", [["build", "--period", PERIOD], ["validate", "--period", PERIOD, "--report", "r"],
                                     ["load-warehouse", "--warehouse", "wh"]])
def test_server_not_listening_is_exit_2_naming_host_and_port(pg_server: PgServer, small_warehouse: Path,
                                                            tmp_path: Path, command: list[str]) -> None:
    port = str(free_port())
    args = [str(small_warehouse) if a == "wh" else str(tmp_path / a) if a == "r" else a for a in command]
    line = _fault(pg_server, tmp_path, args, IAPT_PG_PORT=port)
    assert f"127.0.0.1:{port}" in line and "IAPT_PG_PORT" in line


def test_wrong_password_is_exit_2_and_never_shown(pg_server: PgServer, tmp_path: Path) -> None:
    line = _fault(pg_server, tmp_path, ["build", "--period", PERIOD], IAPT_PG_PASSWORD="Wr0ng-pass-99x")
    assert "password" in line and pg_server.user in line and "IAPT_PG_PASSWORD" in line


def test_missing_database_is_exit_2(pg_server: PgServer, tmp_path: Path) -> None:
    line = _fault(pg_server, tmp_path, ["build", "--period", PERIOD], IAPT_PG_DBNAME="no_such_db")
    assert "no_such_db" in line and "IAPT_PG_DBNAME" in line


def test_schema_without_marts_is_exit_2(pg_run: PgRun, pg_server: PgServer, tmp_path: Path) -> None:
    line = _fault(pg_server, tmp_path, ["validate", "--period", PERIOD, "--report", str(tmp_path / "r")],
                  IAPT_PG_SCHEMA="no_marts_here")
    assert "no_marts_here" in line and "iapt-idb build" in line


def test_missing_source_schema_and_table_are_exit_2(pg_server: PgServer, small_warehouse: Path,
                                                      tmp_path: Path) -> None:
    con = pg_server.connect()
    con.autocommit = True
    con.cursor().execute("drop database if exists iapt_partial")
    con.cursor().execute("create database iapt_partial")
    con.close()
    line = _fault(pg_server, tmp_path, ["build", "--period", PERIOD], IAPT_PG_DBNAME="iapt_partial")
    assert "iapt_partial" in line and "schema cms" in line and "load-warehouse" in line
    env = {**isolated_env(tmp_path), **pg_server.env(), "IAPT_PG_DBNAME": "iapt_partial"}
    assert run_cli(["load-warehouse", "--warehouse", str(small_warehouse)], env).returncode == 0
    con = PgServer(pg_server.host, pg_server.port, pg_server.user, pg_server.password, "iapt_partial",
                   pg_server.datadir).connect()
    con.autocommit = True
    con.cursor().execute("drop table cms.staff_qualification")
    con.close()
    line = _fault(pg_server, tmp_path, ["build", "--period", PERIOD], IAPT_PG_DBNAME="iapt_partial")
    assert "cms.staff_qualification" in line and "iapt_partial" in line


def test_a_killed_runs_snapshot_is_removed_by_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess
    import tempfile

    from iapt_idb import pg

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / f"iapt_pg_snapshot_{dead.pid}_abc"
    alive = tmp_path / f"iapt_pg_snapshot_{os.getppid()}_def"
    for folder in (orphan, alive):
        folder.mkdir()
        (folder / pg.snapshot_name()).write_bytes(b"synthetic")
    pg._remove_orphan_snapshots()
    assert not orphan.exists() and alive.exists()


# --- the benchmark's own throwaway server (iapt_idb.pgserver): started, used, stopped, nothing left -----------

@pytest.fixture()
def open_tmp() -> Iterator[Path]:
    """A temp folder the unprivileged server user can reach (pytest's own is private to root)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="iapt_pgtest_"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _servers_under(folder: Path) -> list[int]:
    """PIDs of processes whose command line names a path under folder (a postmaster's -D)."""
    import os

    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if str(folder).encode() in cmd and b"postgres" in cmd:
                found.append(int(entry.name))
    return found


def _no_server_left(folder: Path) -> bool:
    """No process runs from folder (a postmaster exits a moment after pg_ctl stop has seen its pid file go)."""
    import time

    deadline = time.monotonic() + 15
    while _servers_under(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _servers_under(folder)


def _bench(small_warehouse: Path, work: Path, tmpdir: Path) -> tuple[list[str], dict[str, str]]:
    import sys

    out = work / "bench"
    out.mkdir(parents=True)
    shutil.copyfile(small_warehouse, out / "local_warehouse.duckdb")
    env = {**isolated_env(work), "TMPDIR": str(tmpdir)}
    for k in [k for k in env if k.startswith("IAPT_PG_") or k == "IAPT_DBT_TARGET"]:
        del env[k]
    cmd = [sys.executable, "-m", "iapt_idb.bench", "--postgres", "--start-server", "--phases", "pg_load",
           "--out", str(out)]
    return cmd, env


def test_bench_starts_its_own_server_and_removes_it(small_warehouse: Path, tmp_path: Path, open_tmp: Path) -> None:
    import json
    import subprocess

    cmd, env = _bench(small_warehouse, tmp_path, open_tmp)
    proc = subprocess.run(cmd, env=env, text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "pg: load warehouse" in proc.stdout
    with duckdb.connect(str(small_warehouse), read_only=True) as con:
        rows = sum(con.execute(f'select count(*) from cms."{t}"').fetchone()[0] for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'cms'").fetchall())
    phases = {p["phase"]: p for p in json.loads((tmp_path / "bench" / "results.json").read_text())["phases"]}
    assert phases["pg_load"]["status"] == "ok" and phases["pg_load"]["rows"] == rows
    assert not list(open_tmp.iterdir()), "the throwaway server's data folder is left behind"
    assert _no_server_left(open_tmp)


def test_a_killed_bench_stops_its_server_and_removes_its_data(small_warehouse: Path, tmp_path: Path,
                                                             open_tmp: Path) -> None:
    import signal
    import subprocess
    import time

    cmd, env = _bench(small_warehouse, tmp_path, open_tmp)
    bench = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(open_tmp.glob("iapt_pgserver_*/data/postmaster.pid")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(open_tmp.glob("iapt_pgserver_*/data/postmaster.pid")), "the bench's server never started"
    bench.send_signal(signal.SIGTERM)
    bench.wait(timeout=120)
    assert not list(open_tmp.iterdir()) and _no_server_left(open_tmp)


def test_a_server_whose_owner_was_killed_outright_is_removed_on_the_next_start(open_tmp: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import subprocess
    import sys
    import tempfile

    from iapt_idb import pgserver

    code = ("from iapt_idb.pgserver import throwaway_server\nimport time\n"
            "with throwaway_server():\n    print('ready', flush=True)\n    time.sleep(600)\n")
    owner = subprocess.Popen([sys.executable, "-c", code], env={**dict(__import__("os").environ),
                             "TMPDIR": str(open_tmp)}, stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert _servers_under(open_tmp), "the killed owner's server should still be running here"
    monkeypatch.setattr(tempfile, "tempdir", str(open_tmp))
    pgserver.remove_orphans()
    assert not list(open_tmp.iterdir()) and _no_server_left(open_tmp)
