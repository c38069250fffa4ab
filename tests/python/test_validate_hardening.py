"""`iapt-idb validate` on unusable input and in a hostile environment: exit 2 with one line saying what and
what to do (never 1, a verdict, nor 3), no patient data in any message or leftover file, no stale or
half-written report presented as current, no scratch DB left by a killed run.

Tiny hand-made CSV folders (synthetic NHS numbers of the 999 test range); most runs stop before the rules.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import validation_fixtures as vf
from conftest import CLI, isolated_env
from iapt_idb import runlock, testhooks
from iapt_idb.errors import UserError
from iapt_idb.paths import ROOT
from iapt_idb.periods import parse_period
from iapt_idb.validation import api, report
from privacy_asserts import assert_no_patient_data

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)

N_PATIENTS = 155


def _idb() -> vf.Idb:
    """A valid IDB of N_PATIENTS families, each with its own birth date and postcode."""
    idb = vf.valid_idb(N_PATIENTS)
    for i, row in enumerate(idb["IDS001MPI"]):
        row["PersonBirthDate"] = (dt.date(1950, 1, 1) + dt.timedelta(days=97 * i)).isoformat()
        row["Postcode"] = f"LS{10 + i % 90} {i % 10}{'ABDEFGHJLNPQRSTUWXYZ'[i % 20]}{'ABDEFGHJLNPQRSTUWXYZ'[i // 20 % 20]}"
    return idb


IDB = _idb()
NHS = [r["NHSNumber"] for r in IDB["IDS001MPI"]]
BIRTHS = [r["PersonBirthDate"] for r in IDB["IDS001MPI"]]
POSTCODES = [r["Postcode"] for r in IDB["IDS001MPI"]]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validate_hardening")


@pytest.fixture
def env(work: Path, tmp_path: Path) -> dict[str, str]:
    """A child's environment: the module's dbt target (one plan compile), its own TMPDIR (to see leftovers)."""
    e = isolated_env(work)
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    e["TMPDIR"] = str(tmp)
    e.pop("IAPT_VALIDATE_SCRATCH", None)
    e.pop(testhooks.PAUSE_ENV, None)
    return e


def _validate(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "validate", *args], cwd=ROOT, env=env, text=True, capture_output=True,
                          timeout=timeout)


def _error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a refused run (progress lines start with 'validate:')."""
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith(("validate:", "structure:"))]
    assert len(lines) == 1, proc.stderr[-2000:]
    return lines[0]


def _refused(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    line = _error_line(proc)
    assert "Traceback" not in proc.stderr and "internal error" not in line
    for n in needles:
        assert n in line, line
    assert_no_patient_data(proc.stdout + proc.stderr, NHS, BIRTHS, POSTCODES)
    return line


def _csv_dir(path: Path) -> Path:
    return vf.write_csv_dir(IDB, path)


def _leftovers(env: dict[str, str]) -> list[Path]:
    return sorted(Path(env["TMPDIR"]).glob(api.SCRATCH_PREFIX + "*"))


# ------------------------------------------------------------------------------- CSV errors


def _rewrite_line(path: Path, number: int, change) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[number - 1] = change(lines[number - 1])
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("defect,needles", [
    ("unterminated_quote", ("IDS001MPI.csv, line 3", "column LocalPatientId", "unterminated quote")),
    ("extra_value", ("IDS001MPI.csv, line 3", "values where the header has")),
    ("missing_values", ("IDS001MPI.csv, line 3", "column", "values where the header has")),
    ("huge_field", ("IDS001MPI.csv, line 3", "longer than")),
])
def test_a_csv_parse_error_names_file_line_and_column_never_the_row(tmp_path: Path, env, defect, needles) -> None:
    src = _csv_dir(tmp_path / "csv")
    mpi = src / "IDS001MPI.csv"
    change = {
        "unterminated_quote": lambda ln: '"' + ln,
        "extra_value": lambda ln: ln + ",extra",
        "missing_values": lambda ln: ",".join(ln.split(",")[:3]),
        "huge_field": lambda ln: ",".join(v + "x" * 10_000_000 if v in POSTCODES else v for v in ln.split(",")),
    }[defect]
    _rewrite_line(mpi, 3, change)
    proc = _validate([str(src), "--period", vf.PERIOD, "--report", str(tmp_path / "report"), "--no-gx"], env)
    _refused(proc, *needles)
    assert not _leftovers(env)
    assert_no_patient_data([tmp_path / "report", Path(env["TMPDIR"])], NHS, BIRTHS, POSTCODES)


def test_a_header_without_names_is_never_quoted(tmp_path: Path, env) -> None:
    """A file whose first line is data (no header): its values are not taken for column names in messages."""
    src = _csv_dir(tmp_path / "csv")
    mpi = src / "IDS001MPI.csv"
    mpi.write_text("\n".join(mpi.read_text(encoding="utf-8").split("\n")[1:]), encoding="utf-8")
    from iapt_idb.validation.sources import shown_column

    assert shown_column(NHS[0], 2) == "#3 of the header" and shown_column(BIRTHS[0], 4) == "#5 of the header"
    assert shown_column("NHSNumber", 2) == "NHSNumber"


# ------------------------------------------------------------------------------- unusable input


@pytest.mark.parametrize("text,needle", [("2026-10\n", "YYYY-MM"), ("9999-12", "between 2000 and 2100"),
                                         ("2026-13", "YYYY-MM"), ("٢٠٢٦-10", "YYYY-MM")])
def test_a_bad_period_is_refused(tmp_path: Path, env, text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_period(text)
    proc = _validate([str(tmp_path), "--period", text, "--report", str(tmp_path / "r")], env, timeout=60)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def test_unusable_paths_exit_2_with_one_line(tmp_path: Path, env) -> None:
    src = _csv_dir(tmp_path / "csv")
    as_file = tmp_path / "report_is_a_file"
    as_file.write_text("x")
    _refused(_validate([str(src), "--period", vf.PERIOD, "--report", str(as_file)], env),
             "--report must be a folder")
    not_duckdb = tmp_path / "not.duckdb"
    not_duckdb.write_text("this is not a DuckDB file\n" * 100)
    _refused(_validate(["--period", vf.PERIOD, "--report", str(tmp_path / "r1"), "--target-db", str(not_duckdb)], env),
             "not a DuckDB database", "--target-db")
    _refused(_validate(["--period", vf.PERIOD, "--report", str(tmp_path / "r2"), "--target-db", str(tmp_path)], env),
             "not a DuckDB file")
    table_dir = tmp_path / "csv_dir_table"
    _csv_dir(table_dir)
    (table_dir / "IDS001MPI.csv").unlink()
    (table_dir / "IDS001MPI.csv").mkdir()
    _refused(_validate([str(table_dir), "--period", vf.PERIOD, "--report", str(tmp_path / "r3")], env),
             "IDS001MPI.csv", "not a regular file")
    assert not _leftovers(env)


def test_a_csv_linked_to_dev_zero_is_refused_at_once(tmp_path: Path, env) -> None:
    src = _csv_dir(tmp_path / "csv")
    (src / "IDS002GP.csv").unlink()
    (src / "IDS002GP.csv").symlink_to("/dev/zero")
    began = time.monotonic()
    _refused(_validate([str(src), "--period", vf.PERIOD, "--report", str(tmp_path / "r")], env, timeout=120),
             "IDS002GP.csv", "not a regular file")
    assert time.monotonic() - began < 60


def test_a_header_line_is_read_with_a_bound(tmp_path: Path, env) -> None:
    src = _csv_dir(tmp_path / "csv")
    (src / "IDS002GP.csv").write_text("x" * 200_000, encoding="utf-8")
    _refused(_validate([str(src), "--period", vf.PERIOD, "--report", str(tmp_path / "r")], env),
             "IDS002GP.csv", "header line is longer than")


@pytest.mark.parametrize("kind", ["empty_folder", "tab_separated", "other_files"])
def test_a_completely_wrong_folder_is_unusable_input_not_a_verdict(tmp_path: Path, env, kind: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    if kind == "tab_separated":
        _csv_dir(src)
        for f in src.glob("*.csv"):
            f.write_text(f.read_text(encoding="utf-8").replace(",", "\t"), encoding="utf-8")
    elif kind == "other_files":
        (src / "patients.csv").write_text("NHSNumber,PersonBirthDate\n" + f"{NHS[0]},{BIRTHS[0]}\n")
    _refused(_validate([str(src), "--period", vf.PERIOD, "--report", str(tmp_path / "r")], env),
             "no IDB tables found", "comma-separated")


@pytest.mark.parametrize("code,what", [(errno.ENOSPC, "No space left"), (errno.EROFS, "Read-only")])
def test_a_full_or_read_only_report_folder_is_unusable_environment(tmp_path: Path, monkeypatch, code, what) -> None:
    def fail(report_dir: Path) -> None:
        raise OSError(code, os.strerror(code), str(report_dir / "summary.json"))

    monkeypatch.setattr(report, "withdraw_reports", fail)
    with pytest.raises(UserError, match=what) as info:
        api.run_validation(_csv_dir(tmp_path / "csv"), vf.PERIOD, tmp_path / "report", gx=False)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


# ------------------------------------------------------------------------------- locks


def test_validate_during_a_build_is_refused_naming_the_pid(tmp_path: Path, env) -> None:
    marts = tmp_path / "iapt.duckdb"
    marts.write_bytes(b"")
    with runlock.hold(marts, "building the marts"):
        line = _refused(_validate(["--period", vf.PERIOD, "--report", str(tmp_path / "r"), "--target-db", str(marts)],
                                  env), f"PID {os.getpid()}", str(marts), "--target-db")
    assert "building the marts" in line


def test_validates_of_the_same_marts_share_the_lock(tmp_path: Path, env) -> None:
    """Another validate's shared lock does not stop this one: it gets as far as reading the file."""
    marts = tmp_path / "iapt.duckdb"
    marts.write_text("not a DuckDB file")
    with runlock.hold(marts, "validating the marts", shared=True):
        _refused(_validate(["--period", vf.PERIOD, "--report", str(tmp_path / "r"), "--target-db", str(marts)], env),
                 "not a DuckDB database")


def _start_paused(src: Path, report_dir: Path, env: dict[str, str], point: str = "loaded") -> subprocess.Popen[str]:
    proc = subprocess.Popen([CLI, "validate", str(src), "--period", vf.PERIOD, "--report", str(report_dir), "--no-gx"],
                            cwd=ROOT, env={**env, testhooks.PAUSE_ENV: f"validate-{point}", testhooks.SECONDS_ENV: "120"}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "test pause at" in line:
            return proc
    proc.kill()
    raise AssertionError(f"the run did not reach {point}: exit {proc.wait()}")


def test_kill_9_leaves_no_patient_data_after_the_next_run_and_no_stale_verdict(tmp_path: Path, env) -> None:
    src = _csv_dir(tmp_path / "csv")
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / "summary.json").write_text('{"predicted_outcome": "accepted"}\n')  # an earlier run's verdict
    (report_dir / "validation_report.csv").write_text("rule_code\n")
    first = _start_paused(src, report_dir, env)
    try:
        # a second validate into the same report folder is refused while the first runs
        second = _validate([str(src), "--period", vf.PERIOD, "--report", str(report_dir), "--no-gx"], env)
        _refused(second, f"PID {first.pid}", "--report")
        assert len(_leftovers(env)) == 1  # the first run's scratch DB (the input, patient data included)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert not (report_dir / "summary.json").exists() and not (report_dir / "validation_report.csv").exists()
    assert "incomplete" in (report_dir / report.INCOMPLETE).read_text()
    assert len(_leftovers(env)) == 1  # SIGKILL runs no code: the next run sweeps it

    third = _validate([str(src), "--period", vf.PERIOD, "--report", str(report_dir), "--no-gx"], env)
    assert third.returncode == 0, third.stderr[-3000:]
    assert not _leftovers(env)
    assert sorted(p.name for p in report_dir.iterdir()) == ["summary.json", "validation_report.csv",
                                                            "validation_report.json"]
    assert not list(tmp_path.glob(f".report{report.STAGING_PREFIX}*"))
    assert_no_patient_data([third.stdout + third.stderr, report_dir, Path(env["TMPDIR"])], NHS, BIRTHS, POSTCODES)


@pytest.mark.parametrize("signum,point", [(signal.SIGTERM, "loaded"), (signal.SIGHUP, "staged")])
def test_sigterm_and_sighup_remove_the_scratch_db_at_once(tmp_path: Path, env, signum, point) -> None:
    src = _csv_dir(tmp_path / "csv")
    report_dir = tmp_path / "report"
    proc = _start_paused(src, report_dir, env, point)
    assert len(_leftovers(env)) == 1
    proc.send_signal(signum)
    assert proc.wait(timeout=60) == 128 + signum
    assert not _leftovers(env)
    assert not (report_dir / "summary.json").exists() and (report_dir / report.INCOMPLETE).exists()
    assert not list(tmp_path.glob(f".report{report.STAGING_PREFIX}*"))


def test_a_missing_table_stays_the_platforms_file_rejection(tmp_path: Path, env) -> None:
    src = _csv_dir(tmp_path / "csv")
    (src / "IDS002GP.csv").unlink()
    proc = _validate([str(src), "--period", vf.PERIOD, "--report", str(tmp_path / "r"), "--no-gx"], env)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "IDSREJ001" in proc.stdout
    assert_no_patient_data([proc.stdout + proc.stderr, tmp_path / "r", Path(env["TMPDIR"])], NHS, BIRTHS, POSTCODES)


# ------------------------------------------------------------------------------- built marts


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _marts_copy(built_marts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's built marts in tmp_path/a, validated in-process with tmp_path as TMPDIR."""
    import shutil

    monkeypatch.setenv("DBT_TARGET_PATH", str(built_marts.target_path))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    monkeypatch.setenv("IAPT_WAREHOUSE_PATH", str(built_marts.warehouse))
    monkeypatch.setenv("IAPT_PROVIDER_ODS", "RZZ")  # as the build was configured (conftest)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("IAPT_VALIDATE_SCRATCH", raising=False)
    monkeypatch.delenv("IAPT_VALIDATE_WITH_DBT", raising=False)
    monkeypatch.setattr("tempfile.tempdir", None)
    marts = tmp_path / "a" / built_marts.target_db.name
    marts.parent.mkdir()
    shutil.copy(built_marts.target_db, marts)
    return marts


def test_validate_reads_the_marts_without_writing_them_and_reports_as_before(
    built_marts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from iapt_idb.validation import engine

    marts = _marts_copy(built_marts, tmp_path, monkeypatch)
    before = _sha256(marts)
    with runlock.hold(marts, "validating the marts", shared=True):  # another validate of the same marts
        result = api.run_validation(None, built_marts.period, tmp_path / "report", target_db=marts, gx=False)
    assert _sha256(marts) == before
    assert result.engine_stats is not None and not result.engine_stats.compiled  # the build left it warm
    assert not list(tmp_path.glob(api.SCRATCH_PREFIX + "*"))
    # the same reports as validating inside the target DB (as export_verdict does)
    inside = tmp_path / "b" / built_marts.target_db.name
    inside.parent.mkdir()
    shutil.copy(built_marts.target_db, inside)
    data, _ = api.build_validation_models(inside, built_marts.period, warehouse=built_marts.warehouse,
                                          read=report.read_results_from)
    engine.wait_closed()
    (tmp_path / "inside").mkdir()
    report.write_reports(tmp_path / "inside", data, [], period=built_marts.period, source="marts")
    for name in REPORTS:
        assert (tmp_path / "report" / name).read_bytes() == (tmp_path / "inside" / name).read_bytes(), name


REPORTS = ("validation_report.csv", "validation_report.json", "summary.json")


def test_gx_beside_the_rules_reports_what_gx_after_them_reports(
    built_marts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    marts = _marts_copy(built_marts, tmp_path, monkeypatch)
    before = _sha256(marts)
    beside = api.run_validation(None, built_marts.period, tmp_path / "beside", target_db=marts, gx=True)
    assert "Great Expectations beside the TOS rules" in capsys.readouterr().err
    assert not list(tmp_path.glob(api.SCRATCH_PREFIX + "*"))
    # a fixed scratch folder: the rules are made in its DB file, and GX reads them there afterwards
    monkeypatch.setenv("IAPT_VALIDATE_SCRATCH", str(tmp_path / "fixed"))
    after = api.run_validation(None, built_marts.period, tmp_path / "after", target_db=marts, gx=True)
    err = capsys.readouterr().err
    assert "running Great Expectations" in err and "beside the TOS rules" not in err
    assert _sha256(marts) == before
    gx = beside.summary["great_expectations"]
    assert gx["expectations"] > 300 and gx["suites"] == 21 and gx == after.summary["great_expectations"]
    for name in REPORTS:
        assert (tmp_path / "beside" / name).read_bytes() == (tmp_path / "after" / name).read_bytes(), name
    assert (tmp_path / "beside" / "gx_data_docs" / "index.html").is_file()


def test_a_rule_that_fails_stops_gx_beside_it_and_leaves_no_scratch(
    built_marts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import duckdb

    from iapt_idb.validation import runner

    marts = _marts_copy(built_marts, tmp_path, monkeypatch)
    create = runner._create

    def failing(con, plan, step, existing, now) -> None:
        if step.name == "tos_rows_removed":
            raise duckdb.InvalidInputException("a failure made by the test")
        create(con, plan, step, existing, now)

    monkeypatch.setattr(runner, "_create", failing)
    with pytest.raises(RuntimeError, match="validation model tos_rows_removed failed"):
        api.run_validation(None, built_marts.period, tmp_path / "report", target_db=marts, gx=True)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("gx")]  # stopped and joined
    assert not list(tmp_path.glob(api.SCRATCH_PREFIX + "*"))
    assert not list(tmp_path.glob(f".report{report.STAGING_PREFIX}*"))
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [report.INCOMPLETE]
