"""Run a program that ends when the process that started it ends.

    python -m iapt_idb.lifeline PARENT_PID PROGRAM [ARG...]

A command's children must not outlive the command. When ``iapt-idb build`` is killed outright (SIGKILL, the
out-of-memory killer), dbt would otherwise build on into the target DB, holding its lock, with nobody to clean
up after it; a benchmark killed so would leave its phases and busy loops running. This asks Linux to send
SIGKILL to this process when its parent dies (``PR_SET_PDEATHSIG``, which the program keeps across ``exec``),
checks that PARENT_PID is still its parent (it may have died before that), then becomes PROGRAM. On other
systems it becomes PROGRAM without the tie.

Imports nothing from the project: it runs before every dbt command and benchmark phase, so it stays small.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def command(program: str, *args: str) -> list[str]:
    """The command line that runs ``program`` with ``args``, ended when this process ends."""
    return [sys.executable, "-m", "iapt_idb.lifeline", str(os.getpid()), program, *args]


def _tie_to_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # the tie is a safeguard: without it dbt still runs
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(128 + signal.SIGHUP)  # the parent is already gone: nothing is left to run for


def main(argv: list[str]) -> None:
    parent, program, *args = argv
    _tie_to_parent(int(parent))
    os.execv(program, [program, *args])


if __name__ == "__main__":
    main(sys.argv[1:])
