"""Checks that a process's children end with it (``iapt_idb.lifeline``): kill the parent outright, then the
children must be gone (or zombies, waiting for a reaper) within seconds. Linux /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed child waits there until something reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def kill_and_expect_gone(parent: subprocess.Popen, children: list[int], what: str, seconds: float = 10) -> None:
    """SIGKILL ``parent`` (nothing in it can react), then assert every one of ``children`` has ended; whatever
    still runs is killed, so a failing test leaves nothing behind."""
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + seconds
        while any(running(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(running(c) for c in children), f"{what} outlived the process that started it"
    finally:
        for c in children:
            if running(c):
                os.kill(c, signal.SIGKILL)
