"""`iapt-idb export` killed at any moment: no patient data left behind, the previous good file and manifest
intact, never a mixed output set that `iapt-idb verify` takes for good; a second export to the same --out
is refused; an unwritable --out is exit 2 with one line, never a traceback.

The kills use real signals at points named by the test-only fault hook (iapt_idb.testhooks).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from conftest import CLI, PERIOD, BuiltMarts, isolated_env
from iapt_idb.accdb.writer import excluded_path, manifest_path, scratch_prefix
from iapt_idb.paths import ROOT
from iapt_idb.testhooks import PAUSE_ENV, READY_ENV, SECONDS_ENV

pytestmark = [pytest.mark.java, pytest.mark.slow]  # slow: make test starts it first (conftest)

# a completed export of the small month: written under --force, and the platform would reject the whole file
# (the month carries a whole-file defect by design), so export exits 1, not 0
WRITTEN_REJECTED = 1


@pytest.fixture(scope="module")
def identifiers(built_marts: BuiltMarts) -> list[str]:
    """The fixture warehouse's NHS numbers and birth dates, as they could appear in text."""
    con = duckdb.connect(str(built_marts.target_db), read_only=True)
    try:
        rows = con.execute("SELECT NHSNumber, PersonBirthDate FROM main.IDS001MPI").fetchall()
    finally:
        con.close()
    ids = {str(n) for n, _ in rows if n} | {d.isoformat() for _, d in rows if d}
    ids |= {d.strftime("%d/%m/%Y") for _, d in rows if d}
    assert len(ids) > 100
    return sorted(ids)


class Runs:
    """Start `iapt-idb export` processes on the built marts; keep what they print for the identifier check."""

    def __init__(self, marts: BuiltMarts, work: Path) -> None:
        self.marts = marts
        self.work = work
        self.env = isolated_env(work, marts.warehouse, marts.target_db)
        self.env.pop(PAUSE_ENV, None)
        self.printed: list[str] = []
        self._n = 0

    def start(self, out: Path, pause: str | None = None) -> tuple[subprocess.Popen, Path, Path]:
        self._n += 1
        env = dict(self.env)
        ready = self.work / f"ready{self._n}"
        if pause:
            env.update({PAUSE_ENV: pause, READY_ENV: str(ready), SECONDS_ENV: "120"})
        log = self.work / f"log{self._n}"
        with open(log.with_suffix(".out"), "w") as o, open(log.with_suffix(".err"), "w") as e:
            proc = subprocess.Popen(
                # --force: the synthetic month carries whole-file defects by design; these tests are about
                # what a kill, a lock or a full disk leaves behind, not about the verdict
                [CLI, "export", "--period", PERIOD, "--out", str(out), "--target-db", str(self.marts.target_db),
                 "--quiet", "--force"], cwd=ROOT, env=env, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
        return proc, ready, log

    def output(self, log: Path) -> tuple[str, str]:
        out, err = log.with_suffix(".out").read_text(), log.with_suffix(".err").read_text()
        self.printed += [out, err]
        return out, err

    def run(self, out: Path, timeout: int = 600) -> tuple[int, str, str]:
        proc, _, log = self.start(out)
        rc = proc.wait(timeout=timeout)
        return (rc, *self.output(log))

    def verify(self, accdb: Path) -> tuple[int, str]:
        proc = subprocess.run([CLI, "verify", str(accdb)], cwd=ROOT, env=self.env, text=True, capture_output=True,
                              timeout=120)
        self.printed += [proc.stdout, proc.stderr]
        return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def runs(built_marts: BuiltMarts, tmp_path_factory: pytest.TempPathFactory, identifiers: list[str]) -> Iterator[Runs]:
    r = Runs(built_marts, tmp_path_factory.mktemp("export_hardening_logs"))
    yield r
    for text in r.printed:
        leaked = [i for i in identifiers if i in text]
        assert not leaked, f"patient identifiers in what the exports printed: {len(leaked)}"


@pytest.fixture(scope="module")
def good(runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete export: the previous good output the killed runs must leave alone."""
    out = tmp_path_factory.mktemp("export_good") / "IDB.accdb"
    rc, _, err = runs.run(out)
    assert rc == WRITTEN_REJECTED, err
    assert runs.verify(out)[0] == 0
    return out


def _copy_good(good: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for p in (good, manifest_path(good), excluded_path(good)):
        if p.exists():
            shutil.copy2(p, folder / p.name)
    return folder / good.name


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 300) -> int:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text():
        assert proc.poll() is None, "the export ended before it reached the pause point"
        assert time.monotonic() < deadline, "the export never reached the pause point"
        time.sleep(0.05)
    return int(path.read_text())


def _gone(pid: int, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie (exited, not yet reaped by init) counts as gone
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False


def _leftovers(folder: Path, good: Path) -> list[str]:
    """Everything in the output folder beyond the set of one export (files and folders, recursively)."""
    expected = {good.name, manifest_path(good).name, excluded_path(good).name}
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name not in expected)


def _tmp_leftovers(pid: int) -> list[str]:
    tmp = Path(tempfile.gettempdir())
    return sorted(p.name for pre in ("iapt-idb-accdb-", "iapt_verdict_") for p in tmp.glob(f"{pre}{pid}.*"))


def _jvm_files(pid: int) -> list[str]:
    """The JVM's own files of a process: HotSpot writes its performance counters to /tmp/hsperfdata_<user>/<pid>
    (not $TMPDIR) unless told not to, and only an orderly JVM exit removes the file."""
    return [str(p) for p in Path("/tmp").glob(f"hsperfdata_*/{pid}")]


def _assert_no_identifiers_in_files(folder: Path, identifiers: list[str], skip: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file() and p != skip:
            text = p.read_bytes().decode("latin-1")
            assert not [i for i in identifiers if i in text], f"patient identifiers in {p.name}"


def test_sigkill_of_the_parent_while_the_child_writes(runs: Runs, good: Path, tmp_path: Path,
                                                       identifiers: list[str]) -> None:
    out = _copy_good(good, tmp_path / "out")
    proc, ready, log = runs.start(out, pause="child-writing")
    child = _wait_for(ready, proc)
    assert child != proc.pid
    assert list(out.parent.glob(scratch_prefix(out) + "*/*.partial")), "the child writes in the scratch folder"
    proc.kill()
    proc.wait(timeout=30)
    assert _gone(child), "the child outlived its killed parent"
    # (checked before the next export: a JVM's start removes such files of dead processes)
    assert _jvm_files(child) == [], "the killed child's JVM left a file in /tmp"
    runs.output(log)
    assert runs.verify(out)[0] == 0, "the previous good file and manifest were touched"
    # SIGKILL runs no clean-up: the next export removes what the dead one left
    rc, _, err = runs.run(out)
    assert rc == WRITTEN_REJECTED, err
    assert _leftovers(out.parent, out) == []
    assert _tmp_leftovers(proc.pid) == []
    assert runs.verify(out)[0] == 0
    _assert_no_identifiers_in_files(out.parent, identifiers, skip=out)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_sigterm_and_sighup_clean_up_at_once(runs: Runs, good: Path, tmp_path: Path, signum: int) -> None:
    out = _copy_good(good, tmp_path / "out")
    proc, ready, log = runs.start(out, pause="child-writing")
    child = _wait_for(ready, proc)
    os.kill(proc.pid, signum)  # the exporting process only, e.g. a CI time-out or a closed terminal
    assert proc.wait(timeout=60) == 128 + signum
    assert _gone(child)
    _, err = runs.output(log)
    assert "Traceback" not in err
    assert _leftovers(out.parent, out) == []
    assert _tmp_leftovers(proc.pid) == []
    assert runs.verify(out)[0] == 0


def test_a_second_export_to_the_same_out_is_refused_at_once(runs: Runs, good: Path, tmp_path: Path) -> None:
    out = _copy_good(good, tmp_path / "out")
    first, ready, first_log = runs.start(out, pause="child-writing")
    _wait_for(ready, first)
    t0 = time.monotonic()
    rc, _, err = runs.run(out)
    assert rc == 2
    assert time.monotonic() - t0 < 30, "refused only after the verdict"
    assert err.strip().count("\n") == 0, err
    assert f"PID {first.pid}" in err and "another iapt-idb process" in err
    first.terminate()
    first.wait(timeout=60)
    runs.output(first_log)
    assert runs.verify(out)[0] == 0


def test_a_kill_between_the_renames_is_never_verified(runs: Runs, good: Path, tmp_path: Path) -> None:
    out = _copy_good(good, tmp_path / "out")
    proc, ready, log = runs.start(out, pause="between-renames")
    _wait_for(ready, proc)
    proc.kill()
    proc.wait(timeout=30)
    runs.output(log)
    rc, said = runs.verify(out)
    assert rc == 2 and "manifest missing" in said, said
    # the next export completes the set
    rc, _, err = runs.run(out)
    assert rc == WRITTEN_REJECTED, err
    assert runs.verify(out)[0] == 0
    assert _leftovers(out.parent, out) == []


def test_verify_refuses_a_mixed_or_truncated_set(runs: Runs, good: Path, tmp_path: Path) -> None:
    out = _copy_good(good, tmp_path / "mixed")
    assert runs.verify(out)[0] == 0
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])  # truncated
    rc, said = runs.verify(out)
    assert rc == 2 and "does not match its manifest" in said, said
    out.write_bytes(data)
    # an excluded list that is not the one the manifest names (or a stray one when it names none)
    had_list = excluded_path(out).exists()
    excluded_path(out).write_text("table,row,record_key,column,reason\n")
    rc, said = runs.verify(out)
    assert rc == 2 and ("excluded list" if had_list else "lists no excluded records") in said, said
    manifest_path(out).unlink()
    rc, said = runs.verify(out)
    assert rc == 2 and "manifest missing" in said, said


def _mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[list[Path]]:
    done: list[Path] = []
    yield done
    for m in done:
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


def _one_line_exit_2(rc: int, err: str, *words: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if "error" in ln]
    assert len(errors) == 1, err
    assert errors[0].startswith("iapt-idb export: error: "), err
    for w in words:
        assert w in errors[0], err


def test_an_out_that_is_a_folder_or_in_a_missing_folder(runs: Runs, tmp_path: Path) -> None:
    folder = tmp_path / "IDB.accdb"
    folder.mkdir()
    rc, _, err = runs.run(folder)
    _one_line_exit_2(rc, err, "is a folder")
    rc, _, err = runs.run(tmp_path / "nowhere" / "IDB.accdb")
    _one_line_exit_2(rc, err, "does not exist", "mkdir")
    assert not (tmp_path / "nowhere").exists()


def test_a_read_only_output_folder(runs: Runs, tmp_path: Path, mounts: list[Path]) -> None:
    ro = tmp_path / "ro"
    _mount_tmpfs(ro, "ro,size=1m")
    mounts.append(ro)
    rc, _, err = runs.run(ro / "IDB.accdb")
    _one_line_exit_2(rc, err, "cannot be written")


@pytest.mark.parametrize("size", ["64k", "600k"], ids=["full-at-once", "full-while-writing"])
def test_a_full_output_folder(runs: Runs, tmp_path: Path, mounts: list[Path], size: str) -> None:
    full = tmp_path / "full"
    _mount_tmpfs(full, f"size={size}")
    mounts.append(full)
    rc, _, err = runs.run(full / "IDB.accdb")
    _one_line_exit_2(rc, err, "full")
    assert [p.name for p in full.iterdir()] == []


def test_export_help_gives_the_exit_codes() -> None:
    proc = subprocess.run([CLI, "export", "--help"], cwd=ROOT, text=True, capture_output=True, timeout=60)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "exit status: 0 written, and the platform is predicted to accept it; 1 the platform is predicted to " \
           "reject the whole file: not written, or written anyway under --force" in text
    assert "2 not written, unusable input or environment" in text and "3 internal error" in text


def test_jackcess_refusals_name_the_column_but_no_value() -> None:
    from iapt_idb.accdb.jackcess_ops import safe_reason

    msg = ("Failed adding rows: Invalid value '9991234567' born 1961-02-28 (was 28/02/1961), id 99912345678 "
           "(Db=IDB.accdb.partial;Table=IDS001MPI;Column=NHSNumber)")
    reason = safe_reason(Exception(msg))
    for value in ("9991234567", "1961-02-28", "28/02/1961", "99912345678", "IDB.accdb"):
        assert value not in reason
    assert reason.endswith("(column NHSNumber)")
    kept = safe_reason(Exception("Text is wrong length for TEXT column, max 5, had 8 (Db=x;Table=U;Column=A)"))
    assert kept == "Text is wrong length for TEXT column, max 5, had 8 (column A)"


_FAILING_TASK = """
import json, sys
from pathlib import Path
from iapt_idb.accdb import child
def task(p):
    raise ValueError("could not convert '9991234567' born 1961-02-28")
child._task = lambda name: {"boom": task}[name]
job = Path(sys.argv[1])
job.write_text(json.dumps({"task": "boom", "payload": {}, "result": str(job.with_name("result.json"))}))
sys.exit(child._child_main(str(job)))
"""


def test_an_internal_error_in_the_child_quotes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "IAPT_IDB_DEBUG"}
    proc = subprocess.run([sys.executable, "-c", _FAILING_TASK, str(tmp_path / "job.json")], env=env, text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 3
    said = proc.stdout + proc.stderr + (tmp_path / "result.json").read_text()
    assert "internal error in the .accdb 'boom' step (ValueError)" in said
    assert "9991234567" not in said and "1961-02-28" not in said


def test_a_crash_in_an_accdb_child_is_an_internal_error_never_a_file_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A bug in a child (here: a real task given a payload without its path) must not reach the caller as an
    AccdbError, which `structure` reports as "the national reader cannot open the file" (exit 1) and other
    commands as unusable input (exit 2): the CLI exits 3, naming the step and the kind of error."""
    from iapt_idb import cli
    from iapt_idb.accdb.child import run_child
    from iapt_idb.accdb.errors import AccdbError, AccdbInternalError
    from iapt_idb.commands import structure
    from iapt_idb.errors import EXIT_INTERNAL, UserError

    with pytest.raises(AccdbInternalError) as info:
        run_child("list", {})
    assert not isinstance(info.value, (AccdbError, UserError))
    assert "internal error in the .accdb 'list' step (KeyError)" in str(info.value)

    monkeypatch.setattr(structure, "run", lambda args: run_child("list", {}))
    assert cli.main(["structure", str(tmp_path / "any.accdb")]) == EXIT_INTERNAL
    said = capsys.readouterr().err
    assert "iapt-idb structure: internal error in the .accdb 'list' step (KeyError)" in said
    assert "Traceback" not in said
