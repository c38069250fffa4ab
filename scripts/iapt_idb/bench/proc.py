"""Run one benchmark phase in its own child process and measure its time and peak memory.

Two memory figures are taken for every phase, without psutil:

* ``maxrss_mb``: the kernel's exact peak resident set of the largest single process in the
  phase's process tree (``os.wait4`` returns the child's rusage, which includes every
  descendant it waited for: dbt, the JVM child of the export, ...);
* ``tree_mb``: the peak of the *sum* of the resident sets of every live process in the tree,
  sampled from ``/proc`` every ``interval`` seconds (catches a parent and a child that are big
  at the same time; may miss a spike shorter than the interval).

The phase's peak is the larger of the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import lifeline

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class ChildRun:
    """What one phase child reported, plus what the parent measured around it."""

    returncode: int
    wall_seconds: float
    maxrss_mb: float
    tree_mb: float
    cpu_seconds: float  # user + system CPU of the whole tree: robust to a busy, shared machine
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_mb(self) -> float:
        return max(self.maxrss_mb, self.tree_mb)


def _parent_map() -> dict[int, int]:
    """pid -> ppid for every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and brackets: split after the last ')'.
        rest = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry.name)] = int(rest[1])
    return parents


def descendants(root: int) -> list[int]:
    """root and every live process below it."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parent_map().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def rss_bytes(pid: int) -> int:
    """Resident set of one process (0 if it has gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process tree until stopped; keeps the peak."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_bytes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            total = sum(rss_bytes(pid) for pid in descendants(self.root))
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_child(module: str, phase: str, params: dict[str, Any], log: Path | None = None) -> ChildRun:
    """Run ``python -m <module> <phase> <params.json> <result.json>`` and measure it.

    The child writes its result (a JSON object) to result.json. Its stdout and stderr go to
    ``log`` when given (appended), else to this process's.
    """
    with tempfile.TemporaryDirectory(prefix=f"bench_{phase}_") as tmp:
        params_path = Path(tmp) / "params.json"
        result_path = Path(tmp) / "result.json"
        params_path.write_text(json.dumps(params, default=str))
        # the phase (and the dbt it runs) ends with the benchmark, however the benchmark ends
        cmd = lifeline.command(sys.executable, "-m", module, phase, str(params_path), str(result_path))
        out = open(log, "a") if log else None
        try:
            start = time.monotonic()
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT if out else None)
            sampler = TreeSampler(proc.pid)
            sampler.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            except BaseException:  # Ctrl-C or kill of the benchmark: the child goes too
                proc.kill()
                proc.wait()
                sampler.stop()
                raise
            wall = time.monotonic() - start
            sampler.stop()
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if out:
                out.close()
        result = json.loads(result_path.read_text()) if result_path.exists() else {}
    return ChildRun(
        returncode=proc.returncode,
        wall_seconds=wall,
        maxrss_mb=usage.ru_maxrss / 1024.0,  # Linux reports KiB
        tree_mb=sampler.peak_bytes / 2**20,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        result=result,
    )
