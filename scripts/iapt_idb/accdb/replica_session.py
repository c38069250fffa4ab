"""A long-lived national-reader replica (UCanAccess 4.0.4 in one child JVM) for many queries.

Test suites use one session for all their files, so the replica JVM starts once per session:

    with ReplicaSession() as replica:
        rows = replica.query(path, "SELECT DatSetVer FROM IDS000Header")
        replica.activate()   # load_accdb_to_duckdb / inspect_structure now use this JVM too

Without an active session, ``run_replica`` spawns a one-off child process per call.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import jars
from .child import run_child
from .errors import AccdbError, AccdbStructureError
from .replica_ops import MARK

_active: "ReplicaSession | None" = None


def run_replica(task: str, payload: dict[str, Any]) -> Any:
    """Run a replica task in the active session's JVM, or else in a new child process."""
    if _active is not None and _active.alive():
        return _active.task(task, payload)
    return run_child(task, payload)


class ReplicaError(AccdbError):
    """The replica (UCanAccess) refused a file or a query; the message is UCanAccess's."""


class ReplicaSession:
    def __init__(self) -> None:
        jars.jvm_classpath(jars.REPLICA)
        code = "from iapt_idb.accdb import replica_ops; replica_ops.serve()"
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, encoding="utf-8")

    def alive(self) -> bool:
        return self._proc.poll() is None

    def activate(self) -> None:
        global _active
        _active = self

    def deactivate(self) -> None:
        global _active
        if _active is self:
            _active = None

    def query(self, path: Path | str, sql: str) -> list[list[Any]]:
        return self._request({"path": str(Path(path).resolve()), "sql": sql})["rows"]

    def task(self, task: str, payload: dict[str, Any]) -> Any:
        return self._request({"task": task, "payload": payload})["result"]

    def _request(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps(req) + "\n")
        self._proc.stdin.flush()
        while True:
            line = self._proc.stdout.readline()
            if not line:
                raise AccdbError(f"the replica process ended unexpectedly (exit {self._proc.poll()})")
            if line.startswith(MARK):
                reply = json.loads(line[len(MARK):])
                break
        if "error" in reply:
            if reply.get("table"):
                raise AccdbStructureError(reply["error"], reply["table"], reply.get("column"))
            raise ReplicaError(reply["error"])
        return reply

    def close(self) -> None:
        self.deactivate()
        if self._proc.poll() is None:
            assert self._proc.stdin
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> "ReplicaSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
