"""Run dbt for the project as a child process (no DuckDB file lock is kept in this process)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from . import lifeline, pg
from .paths import ROOT, project_vars, source_systems_dir


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
    linked = _project_relative_systems_dir()
    if linked is not None:
        env["IAPT_SOURCE_SYSTEMS_DIR"] = linked
    return env


def _project_relative_systems_dir() -> str | None:
    """A path inside the project for an external source-system folder (IAPT_SOURCE_SYSTEMS_DIR), or None.

    dbt writes each model's compiled and run SQL to ``<target>/compiled|run/<project>/<model path>``; a model
    path that is absolute makes that the model file itself, so dbt would write compiled SQL over the engineer's
    own staging models. dbt is therefore shown the external folder through a symbolic link under ``target/``
    (one per folder, named by a hash of its path, so parallel runs on different folders do not meet)."""
    folder = source_systems_dir()
    if folder.is_relative_to(ROOT.resolve()):
        return None
    links = ROOT / "target" / "external_systems"
    links.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    link = links / name
    if not (link.is_symlink() and Path(os.readlink(link)) == folder):
        spare = links / f".{name}.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            spare.unlink()
        spare.symlink_to(folder, target_is_directory=True)
        os.replace(spare, link)
    return str(link.relative_to(ROOT))


# The vars that change from one dbt run to the next go to dbt as environment variables IAPT_DBT_<NAME> (macro
# build_var), not in --vars: dbt parses the whole project again whenever a --vars value changes, but only the
# files that read an environment variable when that changes, and build_var reads most of them only when a node
# runs, so a new value makes dbt parse no file again (build_vars_read_while_parsing). The month; the uploading
# organisation's codes (a build, its plan compiles and `docs generate` then share one parse whatever code a run
# is given); the schema a scratch DB's input is in; tos_period_tokens, on only while the validation engine
# compiles its plan. Always set (empty when not given), so a value left in the caller's environment never
# reaches a run.
BUILD_VARS = ("period", "dataset_created_at", "tos_period_tokens", "provider_ods_code", "submitter_ods_code",
              "tos_input_schema")


def split_vars(vars: Mapping[str, Any] | None) -> tuple[dict[str, str], dict[str, Any]]:
    """(IAPT_DBT_<NAME> for each of BUILD_VARS, the vars left for --vars). A BUILD_VARS value goes to the
    environment, empty when not given; except one that differs from a value dbt_project.yml sets for it: build_var
    reads the project's value before the environment (as dbt's var() does), so that one stays in --vars."""
    given = dict(vars or {})
    project = project_vars()
    env: dict[str, str] = {}
    for name in BUILD_VARS:
        value = given.get(name)
        text = "" if value is None else str(value)
        own = str(project.get(name) or "")
        in_vars = bool(own and text and text != own)
        env[f"IAPT_DBT_{name.upper()}"] = "" if in_vars else text
        if not in_vars:
            given.pop(name, None)
    return env, given


# dbt's saved parse of the project, which it reads from and writes to its target path (partial parsing).
PARSE_STATE = "partial_parse.msgpack"


def share_parse_state(from_target: Path, to_target: Path) -> None:
    """Let the next dbt run in ``to_target`` start from the project parse that the last run in ``from_target``
    saved. dbt checks that the project files, --vars, profile and environment variables it read still match,
    and parses again what does not (the whole project when --vars or the profile differ)."""
    saved = Path(from_target) / PARSE_STATE
    if not saved.is_file():
        return
    to_target = Path(to_target)
    to_target.mkdir(parents=True, exist_ok=True)
    partial = to_target / f".{PARSE_STATE}.{os.getpid()}"
    try:
        shutil.copyfile(saved, partial)
        os.replace(partial, to_target / PARSE_STATE)
    except OSError:  # only a faster parse is lost: dbt parses the whole project, as without it
        partial.unlink(missing_ok=True)


def run_dbt(
    args: list[str],
    vars: Mapping[str, Any] | None = None,
    warehouse: Path | None = None,
    target_db: Path | None = None,
    quiet: bool = False,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args> --vars <json>` in the project folder (BUILD_VARS in the environment instead); stream
    output unless quiet. dbt ends when this process ends, however it ends (``lifeline``)."""
    cmd = [dbt_executable(), *args]
    if pg.active():  # the postgres target reads its sources from its own database
        vars = {**pg.dbt_vars(), **(vars or {})}
    in_env, vars = split_vars(vars)
    env = {**dbt_env(warehouse, target_db), **in_env}
    if vars:
        cmd += ["--vars", json.dumps(dict(vars), sort_keys=True)]
    proc = subprocess.run(
        lifeline.command(*cmd),
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
    )
    if check and proc.returncode != 0:
        tail = (proc.stdout or "")[-4000:] if quiet else ""
        raise RuntimeError(f"dbt {' '.join(args)} failed (exit {proc.returncode}).\n{tail}")
    return proc
