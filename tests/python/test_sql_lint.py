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


# macro folders the project's .sqlfluff leaves out of the templating -> the folders whose own .sqlfluff loads them
LOADED_ONLY_IN = {
    "macros/tos": ["models/validation"],
    "macros/measures": ["models/marts/measures", "models/intermediate/measures"],
}


@pytest.mark.parametrize("macros", sorted(LOADED_ONLY_IN))
def test_macros_left_out_of_the_lint_are_called_only_where_it_loads_them(macros: str) -> None:
    """.sqlfluff leaves macros/tos and macros/measures out of the templating everywhere but the folders whose own
    .sqlfluff loads them. Elsewhere a call to one would be linted against a stand-in, without an error: so none
    may be."""
    folder = ROOT / macros
    names = {m for p in folder.rglob("*.sql")
             for m in re.findall(r"\bmacro\s+(\w+)\s*\(", p.read_text(encoding="utf-8"))}
    assert len(names) > 20
    assert macros in (ROOT / ".sqlfluff").read_text(encoding="utf-8")
    loaders = [ROOT / d for d in LOADED_ONLY_IN[macros]]
    for d in loaders:  # each loading folder's config leaves out the other folders, never this one
        config = (d / ".sqlfluff").read_text(encoding="utf-8")
        excluded = re.search(r"^exclude_macros_from_path\s*=(.*)$", config, re.M)
        assert excluded is not None and macros not in excluded.group(1), d
    called = re.compile(r"\b(" + "|".join(sorted(names)) + r")\s*\(|['\"](" + "|".join(sorted(names)) + r")['\"]")
    outside = [p for d in [*LINTED, "macros"] for p in (ROOT / d).rglob("*.sql")
               if folder not in p.parents and not any(loader in p.parents for loader in loaders)]
    assert len(outside) > 60
    calls = [f"{p.relative_to(ROOT)}: {m.group(0)}"
             for p in outside for m in called.finditer(p.read_text(encoding="utf-8"))]
    assert not calls, (f"SQL outside {', '.join(LOADED_ONLY_IN[macros])} calls a macro of {macros}; give its folder "
                       "a .sqlfluff that loads them (as models/validation/.sqlfluff does):\n  " + "\n  ".join(calls))


# one file of each folder with its own .sqlfluff, and one of the project's; in this order the macro files compiled
# for the first are re-used, bound to each next file's own context
RENDERED_BOTH_WAYS = ["models/validation/tos_check_failures__patient.sql", "models/validation/tos_norm_ids001.sql",
                      "models/marts/measures/measures_by_demographic.sql", "models/marts/idb/IDS000Header.sql"]


def test_the_projects_templater_renders_each_file_as_sqlfluffs_own_jinja_templater() -> None:
    """.sqlfluff's templater (iapt_jinja, sqlfluff_templater.py) compiles each macro file once per lint; what it
    renders, and so what the lint checks, is what sqlfluff's own Jinja templater renders with the same settings."""
    from sqlfluff.core import FluffConfig
    from sqlfluff.core.templaters.jinja import JinjaTemplater

    from iapt_idb import sqlfluff_templater
    from iapt_idb.sqlfluff_templater import ProjectJinjaTemplater

    # the override is still called: sqlfluff has the method it replaces, and rendering fills the compile cache
    assert "_extract_macros_from_template" in vars(JinjaTemplater)
    sqlfluff_templater._COMPILED.clear()

    class SqlfluffsOwn(JinjaTemplater):
        name = ProjectJinjaTemplater.name  # the same settings section, none of the compiled-once code

    assert f"templater = {ProjectJinjaTemplater.name}" in (ROOT / ".sqlfluff").read_text(encoding="utf-8")
    for rel in RENDERED_BOTH_WAYS:
        path = ROOT / rel
        config = FluffConfig.from_path(str(path.parent))
        text = path.read_text(encoding="utf-8")
        ours, _ = ProjectJinjaTemplater().process(in_str=text, fname=str(path), config=config)
        own, _ = SqlfluffsOwn().process(in_str=text, fname=str(path), config=config)
        assert ours is not None and own is not None and len(own.templated_str) > 300, rel
        assert ours.templated_str == own.templated_str, rel
    assert sqlfluff_templater._COMPILED, "the project's templater compiled no macro file: its override is not called"


def test_the_templaters_compiled_macros_are_shared_only_between_environments_that_compile_alike() -> None:
    """The compiled-once cache keys on every setting Jinja's compiled code depends on: an environment that
    strips blocks, or uses other delimiters, gets its own compile of the same source."""
    from jinja2.sandbox import SandboxedEnvironment

    from iapt_idb.sqlfluff_templater import _compiled

    source = "{% macro m() %}\n  a\n{% endmacro %}"
    plain = SandboxedEnvironment(keep_trailing_newline=True)
    assert _compiled(plain, source) is _compiled(SandboxedEnvironment(keep_trailing_newline=True), source)
    for other in (SandboxedEnvironment(keep_trailing_newline=True, trim_blocks=True),
                  SandboxedEnvironment(keep_trailing_newline=True, block_start_string="<%", block_end_string="%>")):
        assert _compiled(other, source) is not _compiled(plain, source)
