"""Every SQL file of the dbt project is lint-clean under the project's .sqlfluff (same as `make lint`)."""

from __future__ import annotations

import re
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


def test_the_tos_macros_are_called_only_where_the_lint_loads_them() -> None:
    """.sqlfluff leaves macros/tos out of the templating everywhere but models/validation (its own .sqlfluff
    loads them). Elsewhere a call to one would be linted against a stand-in, without an error: so none may be."""
    tos = ROOT / "macros" / "tos"
    names = {m for p in tos.rglob("*.sql")
             for m in re.findall(r"\bmacro\s+(\w+)\s*\(", p.read_text(encoding="utf-8"))}
    assert len(names) > 50 and "tos_cleansed" in names
    called = re.compile(r"\b(" + "|".join(sorted(names)) + r")\s*\(|['\"](" + "|".join(sorted(names)) + r")['\"]")
    outside = [p for d in [*LINTED, "macros"] for p in (ROOT / d).rglob("*.sql")
               if tos not in p.parents and ROOT / "models" / "validation" not in p.parents]
    assert len(outside) > 60
    calls = [f"{p.relative_to(ROOT)}: {m.group(0)}"
             for p in outside for m in called.finditer(p.read_text(encoding="utf-8"))]
    assert not calls, ("SQL outside models/validation calls a macro of macros/tos; give its folder a .sqlfluff "
                       "like models/validation/.sqlfluff so the lint loads them there:\n  " + "\n  ".join(calls))
