"""Shared session fixtures: a small synthetic warehouse and the 21 IDB marts built from it.

Every dbt run is isolated: its own target DB, dbt target path and log path under pytest's tmp dir,
passed to the child process through its environment (never /work/main/target, data or output).

    small_warehouse  -> Path of a 300-patient warehouse (seed 7, 2% defects, period 2026-10)
    built_marts      -> BuiltMarts(warehouse, target_db, target_path, period, created_at, summary)

The two are made once for the whole session: the first xdist worker that needs one makes it in the session's
folder (the other waits for it). Each worker then gets its own copy of the built marts (tests may write beside
them: dbt's target path, validation tables), and the build's validation plans go to the session's plan cache.

Compiled validation plans are shared by every run of the session (both workers): ``$IAPT_VALIDATION_PLANS``
points at one folder, and a plan's key holds everything its SQL depends on, so a build, validate or export
compiles only what no earlier run has compiled. The ``built_marts`` build keeps its own (cold) plan cache,
and the tests of the cache itself unset the variable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from iapt_idb import runlock
from iapt_idb.paths import IDB_TEMPLATE_ENV, ROOT
from iapt_idb.validation.plans import PLAN_DIR_ENV

PERIOD = "2026-10"
CREATED_AT = "2026-11-05T09:00:00"
CLI = str(Path(sys.executable).with_name("iapt-idb"))


def isolated_env(work: Path, warehouse: Path | None = None, target_db: Path | None = None) -> dict[str, str]:
    """Environment for a child dbt/iapt-idb process that writes only under ``work``."""
    env = dict(os.environ)
    env.update(
        {
            "DBT_PROFILES_DIR": str(ROOT),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "IAPT_TARGET_DB": str(target_db or work / "iapt.duckdb"),
            # the synthetic data's provider: builds need one, and validation compares the header with it
            "IAPT_PROVIDER_ODS": "RZZ",
        }
    )
    if warehouse is not None:
        env["IAPT_WAREHOUSE_PATH"] = str(warehouse)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=ROOT, env=env, text=True, capture_output=True, timeout=timeout)


@dataclass(frozen=True)
class BuiltMarts:
    warehouse: Path
    target_db: Path
    target_path: Path
    period: str
    created_at: str
    summary: str  # what `iapt-idb build` printed on stdout


def build_into(work: Path, warehouse: Path, period: str = PERIOD, created_at: str = CREATED_AT,
               select: list[str] | None = None, full_checks: bool = False, own_plans: bool = False) -> BuiltMarts:
    """`iapt-idb build` into ``work``; ``own_plans``: compile the validation plans into work/target, not the
    session's shared plan cache."""
    work.mkdir(parents=True, exist_ok=True)
    target_db = work / "iapt.duckdb"
    env = isolated_env(work, warehouse, target_db)
    if own_plans:
        env.pop(PLAN_DIR_ENV, None)
    args = ["build", "--period", period, "--warehouse", str(warehouse), "--target-db", str(target_db),
            "--created-at", created_at]
    if select:
        args += ["--select", *select]
    if full_checks:
        args.append("--full-checks")
    proc = run_cli(args, env)
    assert proc.returncode == 0, f"iapt-idb build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return BuiltMarts(warehouse, target_db, work / "target", period, created_at, proc.stdout)


def _session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the whole session: the xdist workers' base folders are inside it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once_per_session(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """<session folder>/<name>, made by ``make(folder)`` in the first worker to ask for it."""
    root = _session_root(tmp_path_factory)
    folder, complete = root / name, root / f"{name}.complete"
    with runlock.waiting(folder):  # the other worker waits for the one making it
        if complete.exists():
            return folder
        shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
        folder.mkdir()
        make(folder)
        complete.touch()
    return folder


@pytest.fixture(scope="session", autouse=True)
def shared_validation_plans(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One validation plan cache for the whole session, shared by the xdist workers (children inherit it)."""
    os.environ[PLAN_DIR_ENV] = str(_session_root(tmp_path_factory) / "shared_validation_plans")


@pytest.fixture(scope="session", autouse=True)
def submissions_outside_the_project(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Exports record their IDB in the submission history: the tests' go to pytest's tmp dir (children inherit it)."""
    os.environ["IAPT_IDB_SUBMISSIONS"] = str(tmp_path_factory.mktemp("submission_history"))


@pytest.fixture(scope="session", autouse=True)
def no_configured_idb_template() -> None:
    """A developer's own official IDB (IAPT_IDB_TEMPLATE) would change what the exports write and what an
    .accdb is compared with: the tests say which template they use (children inherit this)."""
    os.environ.pop(IDB_TEMPLATE_ENV, None)


@pytest.fixture(scope="session")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read by every worker (dbt attaches it read-only); a test that changes a warehouse changes its own copy."""
    def generate(work: Path) -> None:
        proc = run_cli(
            ["generate", "--out", str(work / "wh.duckdb"), "--patients", "300", "--seed", "7", "--defect-rate",
             "0.02", "--period", PERIOD, "--quiet"],
            isolated_env(work),
        )
        assert proc.returncode == 0, f"iapt-idb generate failed:\n{proc.stderr[-3000:]}"

    folder = _once_per_session(tmp_path_factory, "small_warehouse", generate)
    return folder / "wh.duckdb"


BUILD_STDOUT = "build_stdout.txt"


@pytest.fixture(scope="session")
def built_marts(tmp_path_factory: pytest.TempPathFactory, small_warehouse: Path) -> BuiltMarts:
    # --full-checks: dbt's unit tests and the source-table data tests run here, in every `make test`;
    # own_plans: this build compiles its plans cold, as a provider's first build does
    def build(work: Path) -> None:
        built = build_into(work, small_warehouse, full_checks=True, own_plans=True)
        (work / BUILD_STDOUT).write_text(built.summary, encoding="utf-8")
        # its plans serve the session's runs on the same marts (a plan's key holds all it depends on)
        shared = Path(os.environ[PLAN_DIR_ENV])
        shared.mkdir(parents=True, exist_ok=True)
        for plan in (built.target_path / "validation_plans").glob("*.json"):
            if not (shared / plan.name).exists():
                shutil.copyfile(plan, shared / f".{plan.name}.{os.getpid()}")
                os.replace(shared / f".{plan.name}.{os.getpid()}", shared / plan.name)

    made = _once_per_session(tmp_path_factory, "built_marts", build)
    folder = tmp_path_factory.mktemp("built_marts")  # this worker's own copy: the one made is never written again
    shutil.copytree(made, folder, dirs_exist_ok=True)
    summary = (folder / BUILD_STDOUT).read_text(encoding="utf-8")
    return BuiltMarts(small_warehouse, folder / "iapt.duckdb", folder / "target", PERIOD, CREATED_AT, summary)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow files first, so that `make test`'s two workers, which take one file at a time in this order
    (``--no-loadscope-reorder``), do not end with one long file running alone. The built marts are made once,
    by the first worker that needs them: one slow file that needs them goes first, then the slow files that do
    not, which the other worker runs meanwhile instead of waiting. A stable sort: the order in a file is kept."""
    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    slow = {file_of(i) for i in items if i.get_closest_marker("slow")}
    needs_marts = {file_of(i) for i in items if "built_marts" in getattr(i, "fixturenames", ())}
    first = next((file_of(i) for i in items if file_of(i) in slow & needs_marts), None)

    def rank(item: pytest.Item) -> int:
        f = file_of(item)
        return 0 if f == first else 1 if f in slow - needs_marts else 2 if f in slow else 3

    items.sort(key=rank)
