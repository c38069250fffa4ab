"""Run one Java-backed task in a spawned child process (never a fork), with clean-up on any failure.

Parent side: ``run_child(task, payload, cleanup=[...], workdir=None)`` writes the job as JSON into
``workdir`` (or a private scratch folder of its own, removed afterwards and swept by the next run if this
process is killed), starts ``python -m iapt_idb.accdb.child JOB``, waits, and returns the task's JSON
result. On an error in the child, on Ctrl-C, SIGTERM, SIGHUP or any other exception it stops the child
and deletes every path in ``cleanup`` (the partial output) before raising. The child inherits the locks
this process holds (``runlock.held_lock_fds``), so they stay held for as long as either lives.

Child side: dies with its parent (Linux ``PR_SET_PDEATHSIG``, and a check that the parent is still the
process that started it), starts at most one JVM, runs the task, writes ``{"result": ...}`` or
``{"error": ...}``. Progress goes to the inherited stderr. Error texts never quote a value (they may be
patient data): Java and Python exception messages are reduced to their kind, unless IAPT_IDB_DEBUG=1.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import runlock
from .errors import AccdbError, AccdbInternalError, AccdbStructureError

_PARENT_ENV = "IAPT_IDB_PARENT_PID"
PR_SET_PDEATHSIG = 1


# task -> (module of this package, its function, the JVM classpath it runs on: jars.WRITER or jars.REPLICA)
_TASKS = {
    "write": ("jackcess_ops", "write_task", "writer"),
    "create": ("jackcess_ops", "create_task", "writer"),
    "list": ("jackcess_ops", "list_task", "writer"),
    "replica_schema": ("replica_ops", "schema_task", "replica"),
    "replica_load": ("replica_ops", "load_task", "replica"),
}


def _task(name: str) -> Callable[[dict[str, Any]], Any]:
    """The task's function. Its JVM is started first, on a thread of its own: it comes up while the task's
    modules (DuckDB, Arrow, NumPy) are imported, which take about as long."""
    import importlib

    from . import jvm

    module, function, classpath = _TASKS[name]
    jvm.start_early(classpath)
    return getattr(importlib.import_module(f".{module}", __package__), function)


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        try:
            Path(p).unlink()
        except FileNotFoundError:
            pass


def run_child(task: str, payload: dict[str, Any], cleanup: Iterable[Path] = (), workdir: Path | None = None) -> Any:
    cleanup = list(cleanup)
    with runlock.exit_on_signals():
        if workdir is not None:
            return _run_child(task, payload, cleanup, Path(workdir))
        with runlock.private_scratch(None, "iapt-idb-accdb-") as tmp:
            return _run_child(task, payload, cleanup, tmp)


def _run_child(task: str, payload: dict[str, Any], cleanup: list[Path], tmp: Path) -> Any:
    job = tmp / "job.json"
    result_path = tmp / "result.json"
    result_path.unlink(missing_ok=True)
    job.write_text(json.dumps({"task": task, "payload": payload, "result": str(result_path)}), encoding="utf-8")
    env = dict(os.environ, **{_PARENT_ENV: str(os.getpid())})
    # The child's stdout goes to our stderr: Java libraries may print there, and our stdout is for results.
    proc = subprocess.Popen([sys.executable, "-m", "iapt_idb.accdb.child", str(job)],
                            stdin=subprocess.DEVNULL, stdout=2, env=env, pass_fds=runlock.held_lock_fds())
    try:
        rc = proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _remove(cleanup)
        raise
    data = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else None
    job.unlink(missing_ok=True)
    result_path.unlink(missing_ok=True)
    if data is None or "error" in data or rc != 0:
        _remove(cleanup)
        if data and "error" in data:
            err = data["error"]
            if err.get("table"):
                raise AccdbStructureError(err["message"], err["table"], err.get("column"))
            if err.get("internal"):
                raise AccdbInternalError(err["message"])
            raise AccdbError(err["message"])
        problem = environment_problem(OSError(), tmp)
        if problem:
            raise AccdbError(problem)
        raise AccdbError(f"the .accdb {task!r} step failed (child exit code {rc}); see the messages above")
    return data["result"]


def _die_with_parent() -> None:
    """End this process as soon as the parent that started it is gone (SIGKILL, a crash, a hang-up).

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); the parent may have
    died before that was set, so the parent's PID is checked after. Elsewhere a thread polls it.
    """
    expected = int(os.environ.get(_PARENT_ENV, "0") or 0)
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    if expected and os.getppid() != expected:
        os._exit(128 + signal.SIGHUP)
    if expected and not armed:
        def watch() -> None:
            while os.getppid() == expected:
                time.sleep(0.5)
            os._exit(128 + signal.SIGHUP)

        threading.Thread(target=watch, name="iapt-idb-parent-watch", daemon=True).start()


def _debug() -> bool:
    return os.environ.get("IAPT_IDB_DEBUG", "").strip() in ("1", "true", "yes")


_NO_SPACE = ("No space left on device", "Disk quota exceeded")
_READ_ONLY = ("Read-only file system", "Permission denied", "Access is denied")


def _nearly_full(folder: str | Path | None) -> bool:
    """True when the file system of ``folder`` has less than 1 MiB left (Jackcess may report a full disk as
    a broken page rather than as the I/O error it met)."""
    if not folder:
        return False
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)


def environment_problem(exc: BaseException, folder: str | Path | None = None) -> str | None:
    """What the user can fix, when ``exc`` (Python or Java) is a full disk or an unwritable folder;
    ``folder`` is where the failed step wrote, checked for free space."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in (errno.ENOSPC, errno.EDQUOT) or any(s in text for s in _NO_SPACE) or _nearly_full(folder):
        return ("the disk holding the output folder is full (no space left on device); free some space or "
                "choose an --out on another disk")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or any(s in text for s in _READ_ONLY):
        return "the output folder cannot be written (read-only or no permission); choose a writable folder for --out"
    return None


_RESERVED = 4096


def _answer(path: Path, out: dict[str, Any]) -> None:
    """Write ``out`` over the file's reserved bytes (no new disk space for an answer that fits in them)."""
    data = json.dumps(out).encode("utf-8")
    with path.open("r+b") as f:
        f.write(data)
        f.truncate(len(data))


def _child_main(job_file: str) -> int:
    # Ctrl-C is handled by the parent, which stops this process and removes partial output.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    answer = Path(job["result"] + ".part")
    try:
        answer.write_bytes(b" " * _RESERVED)  # room for an error message, even when the task fills the disk
    except OSError:
        return 2  # no room for any answer: the parent finds out why
    out: dict[str, Any]
    try:
        out = {"result": _task(job["task"])(job["payload"])}
        rc = 0
    except AccdbStructureError as exc:
        out = {"error": {"message": str(exc), "table": exc.table, "column": exc.column}}
        rc = 2
    except AccdbError as exc:
        out = {"error": {"message": str(exc)}}
        rc = 2
    except Exception as exc:  # noqa: BLE001 - reported to the parent without its text (it may quote values)
        partial = job["payload"].get("tmp") if isinstance(job["payload"], dict) else None
        writes = job["task"] in ("write", "create")  # only these write a file the user named
        problem = environment_problem(exc, os.path.dirname(partial) if partial else None) if writes else None
        if _debug():
            traceback.print_exc(file=sys.stderr)
        if problem:
            out = {"error": {"message": problem}}
            rc = 2
        else:
            kind = type(exc).__name__
            out = {"error": {"message": (
                f"internal error in the .accdb {job['task']!r} step ({kind}); its text is not shown because it "
                "may quote patient data: re-run with IAPT_IDB_DEBUG=1 on synthetic data to see it, and report it"),
                "internal": True}}
            rc = 3
    if rc and isinstance(job["payload"], dict) and job["payload"].get("tmp"):
        # the partial output is thrown away anyway; on a full disk its space is needed for the answer
        with contextlib.suppress(OSError):
            os.unlink(job["payload"]["tmp"])
    try:
        _answer(answer, out)
    except OSError as exc:  # a full disk: an error fits in the space reserved at the start
        if "error" not in out or len(json.dumps(out)) > _RESERVED:
            out = {"error": {"message": environment_problem(exc) or f"cannot write the answer ({exc.strerror})"}}
        rc = rc or 2
        _answer(answer, out)
    os.replace(answer, job["result"])
    sys.stdout.flush()
    sys.stderr.flush()
    return rc


if __name__ == "__main__":
    code = _child_main(sys.argv[1])
    # Skip the JVM's orderly shutdown hooks: the work is finished and flushed.
    os._exit(code)
