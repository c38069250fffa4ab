"""A long-lived national-reader replica (UCanAccess 4.0.4 in one child JVM) for many queries.

Test suites use one session for all their files, so the replica JVM starts once per session:

    with ReplicaSession() as replica:
        rows = replica.query(path, "SELECT DatSetVer FROM IDS000Header")
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import jars
from .errors import AccdbError
from .replica_ops import MARK


class ReplicaError(AccdbError):
    """The replica (UCanAccess) refused a file or a query; the message is UCanAccess's."""


class ReplicaSession:
    def __init__(self) -> None:
        jars.classpath(jars.REPLICA)
        code = "from iapt_idb.accdb import replica_ops; replica_ops.serve()"
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, encoding="utf-8")

    def query(self, path: Path | str, sql: str) -> list[list[Any]]:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps({"path": str(Path(path).resolve()), "sql": sql}) + "\n")
        self._proc.stdin.flush()
        while True:
            line = self._proc.stdout.readline()
            if not line:
                raise AccdbError(f"the replica process ended unexpectedly (exit {self._proc.poll()})")
            if line.startswith(MARK):
                reply = json.loads(line[len(MARK):])
                break
        if "error" in reply:
            raise ReplicaError(reply["error"])
        return reply["rows"]

    def close(self) -> None:
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
