"""Run dbt for the project as a child process (no DuckDB file lock is kept in this process)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any, Mapping

from . import pg
from .paths import ROOT, source_systems_dir


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if not found:
        raise RuntimeError("dbt is not installed in this environment: run 'make setup'")
    return found


def dbt_env(warehouse: Path | None = None, target_db: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DBT_PROFILES_DIR", str(ROOT))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    if warehouse is not None:
        env["IAPT_WAREHOUSE_PATH"] = str(Path(warehouse).resolve())
    if target_db is not None:
        env["IAPT_TARGET_DB"] = str(Path(target_db).resolve())
    return env


@contextlib.contextmanager
def _keep_external_system_sql() -> Iterator[None]:
    """dbt writes each model's compiled and run SQL to <target>/compiled|run/<project>/<the model's path>; for a
    source-system folder outside the project (IAPT_SOURCE_SYSTEMS_DIR) that path is absolute, and dbt writes
    over the folder's own models. Keep their text, and put back any file dbt changed."""
    folder = source_systems_dir()
    if folder.resolve().is_relative_to(ROOT.resolve()) or not folder.is_dir():
        yield
        return
    saved = {p: p.read_bytes() for p in folder.rglob("*.sql")}
    try:
        yield
    finally:
        for path, text in saved.items():
            with contextlib.suppress(OSError):
                if path.read_bytes() != text:
                    path.write_bytes(text)


def run_dbt(
    args: list[str],
    vars: Mapping[str, Any] | None = None,
    warehouse: Path | None = None,
    target_db: Path | None = None,
    quiet: bool = False,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args> --vars <json>` in the project folder; stream output unless quiet."""
    cmd = [dbt_executable(), *args]
    if pg.active():  # the postgres target reads its sources from its own database
        vars = {**pg.dbt_vars(), **(vars or {})}
    if vars:
        cmd += ["--vars", json.dumps(dict(vars), sort_keys=True)]
    with _keep_external_system_sql():
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            env=dbt_env(warehouse, target_db),
            text=True,
            stdout=subprocess.PIPE if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
        )
    if check and proc.returncode != 0:
        tail = (proc.stdout or "")[-4000:] if quiet else ""
        raise RuntimeError(f"dbt {' '.join(args)} failed (exit {proc.returncode}).\n{tail}")
    return proc
