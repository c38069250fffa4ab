"""Every SQL file of the dbt project is lint-clean under the project's .sqlfluff (same as `make lint`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)

ROOT = Path(__file__).resolve().parents[2]
LINTED = ["models", "source_systems", "tests/dbt", "analyses"]


def test_dbt_sql_is_lint_clean() -> None:
    sqlfluff = str(Path(sys.executable).with_name("sqlfluff"))
    proc = subprocess.run(
        [sqlfluff, "lint", *LINTED, "--nocolor", "--processes", "2"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    linted = [p for d in LINTED for p in (ROOT / d).rglob("*.sql")]
    assert len(linted) > 60, "the lint paths should cover the project's models and tests"
