"""Fault injection for tests only: pause a run at a named point so a test can kill it there.

Set IAPT_IDB_TEST_PAUSE_AT=<point> (and optionally IAPT_IDB_TEST_PAUSE_READY=<file>, written with the
pausing process's PID when the point is reached, and IAPT_IDB_TEST_PAUSE_SECONDS, default 120). Never
set these outside tests. Points:

``child-writing``    in the export's child, after the rows were written to the partial file
``between-renames``  in the export's commit, after the old manifest was removed and the new .accdb put in place
``validate-loaded``  in validate, once the input is in the scratch DB and the old reports are withdrawn
``validate-staged``  in validate, once the new reports are written beside the report folder, not yet in place
``history-staged``   in a submission record's write, once the whole record is in its scratch folder, not yet in place

A pausing process says so on stderr ("test pause at '<point>'").
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

PAUSE_ENV = "IAPT_IDB_TEST_PAUSE_AT"
READY_ENV = "IAPT_IDB_TEST_PAUSE_READY"
SECONDS_ENV = "IAPT_IDB_TEST_PAUSE_SECONDS"


def pause_at(point: str) -> None:
    """Sleep here when the test environment asks for it; otherwise return at once."""
    if os.environ.get(PAUSE_ENV) != point:
        return
    print(f"iapt-idb: test pause at {point!r} ({PAUSE_ENV})", file=sys.stderr, flush=True)
    ready = os.environ.get(READY_ENV)
    if ready:
        Path(ready).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(float(os.environ.get(SECONDS_ENV, "120")))
