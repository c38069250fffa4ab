"""Start a JVM in the current (child) process with exactly one pinned classpath.

Only ever called inside the child processes of ``iapt_idb.accdb.child``: a JVM cannot be restarted
in a process, and the writer's Jackcess 4 must never meet the replica's Jackcess 2.2 in one JVM.
"""

from __future__ import annotations

import os
import tempfile
import threading

from .errors import AccdbError
from .jars import jvm_classpath

DEFAULT_XMX = {"writer": "2g", "replica": "4g"}
# Java strings handed to Python as str (the replica's reads) or as Java objects (the writer, which only passes them on).
CONVERT_STRINGS = {"writer": False, "replica": True}
# The writer's JVM lives for one export, CPU-bound, on machines with few cores: the C2 compiler alone
# (no tiered C1 stage) spends a third of the JIT's CPU time for the same work, and that CPU is what the
# export's own threads need (figures in docs/decisions.md, "Build speed").
JIT_OPTIONS = {"writer": ["-XX:-TieredCompilation", "-XX:+UseSerialGC"], "replica": []}
# No hsperfdata file: nothing reads the JVM's performance counters, and a child that ends with os._exit
# would leave the file behind in the temporary folder.
COMMON_OPTIONS = ["-XX:-UsePerfData"]
_started: list[str] = []
_lock = threading.Lock()
_early: list[tuple[threading.Thread, list[BaseException]]] = []  # start_early's thread and what it raised


def start_early(classpath_name: str) -> None:
    """Begin start(classpath_name) on a background thread and return at once; start() waits for it (and
    raises what it raised), so the JVM comes up while the caller imports and prepares."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            start(classpath_name)
        except BaseException as exc:  # noqa: BLE001 - raised again by start() on the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="iapt-idb-jvm-start", daemon=True)
    _early.append((thread, failed))
    thread.start()


def start(classpath_name: str) -> None:
    """The JVM of ``classpath_name`` (jars.WRITER or jars.REPLICA) running in this process, started if needed."""
    for thread, failed in list(_early):
        if thread is not threading.current_thread():
            thread.join()
            _early.remove((thread, failed))
            if failed:
                raise failed[0]
    with _lock:
        _start(classpath_name)


def _start(classpath_name: str) -> None:
    import jpype

    if _started == [classpath_name]:
        return
    if jpype.isJVMStarted():
        raise AccdbError(f"internal: a JVM with another classpath ({_started}) already runs in this process")
    xmx = os.environ.get("IAPT_IDB_JAVA_XMX", DEFAULT_XMX[classpath_name])
    try:
        jvm_path = jpype.getDefaultJVMPath()
    except jpype.JVMNotFoundException as exc:  # pragma: no cover - depends on the machine
        raise AccdbError(f"no Java runtime found ({exc}); run 'make system-deps' (openjdk-17-jre-headless)") from None
    jpype.startJVM(
        jvm_path,
        f"-Xmx{xmx}",
        "-Duser.timezone=UTC",  # date-times are naive local values; never shifted by a DST rule
        "-Dfile.encoding=UTF-8",
        "-Djava.awt.headless=true",
        # A JVM killed mid-start (Ctrl-C, SIGTERM) must not leave hs_err files in the user's folder.
        f"-XX:ErrorFile={tempfile.gettempdir()}/iapt_idb_hs_err_pid%p.log",
        *COMMON_OPTIONS,
        *JIT_OPTIONS[classpath_name],
        classpath=list(jvm_classpath(classpath_name)),
        convertStrings=CONVERT_STRINGS[classpath_name],
    )
    _started.append(classpath_name)
