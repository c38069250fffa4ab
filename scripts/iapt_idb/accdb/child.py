"""Run one Java-backed task in a spawned child process (never a fork), with clean-up on any failure.

Parent side: ``run_child(task, payload, cleanup=[...])`` writes the job as JSON, starts
``python -m iapt_idb.accdb.child JOB``, waits, and returns the task's JSON result. On an error in the
child, on Ctrl-C or on any other exception it stops the child and deletes every path in ``cleanup``
(the partial output) before raising.

Child side: starts at most one JVM, runs the task, writes ``{"result": ...}`` or ``{"error": ...}``.
Progress goes to the inherited stderr.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import AccdbError, AccdbStructureError


def _tasks() -> dict[str, Callable[[dict[str, Any]], Any]]:
    from . import jackcess_ops, replica_ops

    return {
        "write": jackcess_ops.write_task,
        "create": jackcess_ops.create_task,
        "list": jackcess_ops.list_task,
        "replica_schema": replica_ops.schema_task,
        "replica_load": replica_ops.load_task,
    }


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        try:
            Path(p).unlink()
        except FileNotFoundError:
            pass


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C, so partial output is removed


def run_child(task: str, payload: dict[str, Any], cleanup: Iterable[Path] = ()) -> Any:
    cleanup = list(cleanup)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        return _run_child(task, payload, cleanup)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _run_child(task: str, payload: dict[str, Any], cleanup: list[Path]) -> Any:
    with tempfile.TemporaryDirectory(prefix="iapt-idb-accdb-") as tmp:
        job = Path(tmp) / "job.json"
        result_path = Path(tmp) / "result.json"
        job.write_text(json.dumps({"task": task, "payload": payload, "result": str(result_path)}), encoding="utf-8")
        # The child's stdout goes to our stderr: Java libraries may print there, and our stdout is for results.
        proc = subprocess.Popen([sys.executable, "-m", "iapt_idb.accdb.child", str(job)],
                                stdin=subprocess.DEVNULL, stdout=2)
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
    if data is None or "error" in data or rc != 0:
        _remove(cleanup)
        if data and "error" in data:
            err = data["error"]
            if err.get("table"):
                raise AccdbStructureError(err["message"], err["table"], err.get("column"))
            raise AccdbError(err["message"])
        raise AccdbError(f"the .accdb {task!r} step failed (child exit code {rc}); see the messages above")
    return data["result"]


def _child_main(job_file: str) -> int:
    # Ctrl-C is handled by the parent, which stops this process and removes partial output.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    out: dict[str, Any]
    try:
        out = {"result": _tasks()[job["task"]](job["payload"])}
        rc = 0
    except AccdbStructureError as exc:
        out = {"error": {"message": str(exc), "table": exc.table, "column": exc.column}}
        rc = 2
    except AccdbError as exc:
        out = {"error": {"message": str(exc)}}
        rc = 2
    except Exception as exc:  # noqa: BLE001 - reported to the parent with its Java/Python detail
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        traceback.print_exc(file=sys.stderr)
        out = {"error": {"message": f"internal error in the .accdb {job['task']!r} step: {detail}"}}
        rc = 3
    tmp = Path(job["result"] + ".part")
    tmp.write_text(json.dumps(out), encoding="utf-8")
    os.replace(tmp, job["result"])
    sys.stdout.flush()
    sys.stderr.flush()
    return rc


if __name__ == "__main__":
    code = _child_main(sys.argv[1])
    # Skip the JVM's orderly shutdown hooks: the work is finished and flushed.
    os._exit(code)
