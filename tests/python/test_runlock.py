"""runlock: a second user of a file is refused with the holder's PID; scratch of a killed run is swept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iapt_idb import runlock
from iapt_idb.errors import EXIT_UNUSABLE, UserError

_TRY_LOCK = "import sys, pathlib\nfrom iapt_idb import runlock\nwith runlock.hold(pathlib.Path(sys.argv[1]), 'x'): pass"
_HOLD_SCRATCH = (
    "import sys, pathlib, time\nfrom iapt_idb import runlock\n"
    "with runlock.private_scratch(pathlib.Path(sys.argv[1]), 'scr_') as f:\n"
    "    (f / 'patient.duckdb').write_text('x'); print(f, flush=True); time.sleep(60)"
)


def test_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    target = tmp_path / "iapt.duckdb"
    with runlock.hold(target, "building the marts"):
        proc = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(target)], capture_output=True, text=True)
        assert proc.returncode != 0
        assert f"PID {os.getpid()}, building the marts" in proc.stderr
        with pytest.raises(UserError) as err:
            with runlock.hold(target, "validating"):
                pass
        assert err.value.exit_code == EXIT_UNUSABLE
    with runlock.hold(target, "again"):  # released on exit
        pass


def test_readers_share_but_a_writer_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "iapt.duckdb"
    with runlock.hold(target, "reading", shared=True), runlock.hold(target, "reading too", shared=True):
        with pytest.raises(UserError):
            with runlock.hold(target, "writing"):
                pass


def test_scratch_is_private_removed_on_exit_and_swept_after_a_kill(tmp_path: Path) -> None:
    with runlock.private_scratch(tmp_path, "scr_") as folder:
        assert folder.stat().st_mode & 0o077 == 0
        assert runlock.sweep_stale(tmp_path, "scr_") == []  # held by this live process
    assert not folder.exists()

    proc = subprocess.Popen([sys.executable, "-c", _HOLD_SCRATCH, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    killed = Path(proc.stdout.readline().strip())
    assert runlock.sweep_stale(tmp_path, "scr_") == []  # its owner is alive
    proc.kill()
    proc.wait()
    assert killed.exists()  # SIGKILL runs no clean-up ...
    assert runlock.sweep_stale(tmp_path, "scr_") == [killed]  # ... the next run removes it
    assert not killed.exists()


def test_sweep_removes_only_folders_named_as_scratch(tmp_path: Path) -> None:
    other = tmp_path / "scr_tests-fixtures"  # starts with the prefix, but is not a scratch folder
    other.mkdir()
    os.utime(other, (0, 0))  # old and without a lock file
    stale = tmp_path / "scr_123.abc_9"
    stale.mkdir()
    os.utime(stale, (0, 0))
    assert runlock.sweep_stale(tmp_path, "scr_") == [stale]
    assert other.exists()


def test_a_tidy_lock_leaves_no_file_and_still_excludes(tmp_path: Path) -> None:
    target = tmp_path / "IDB.accdb"
    with runlock.hold(target, "exporting", tidy=True):
        assert runlock.lock_path(target).exists()
        proc = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(target)], capture_output=True, text=True)
        assert proc.returncode != 0 and f"PID {os.getpid()}, exporting" in proc.stderr
    assert not runlock.lock_path(target).exists()
    with runlock.hold(target, "again", tidy=True):
        pass
