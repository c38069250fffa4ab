"""Running a validation plan in plain DuckDB: independent tables at the same time, the longest first.

    run_plan(target_db, plan) -> RunStats    seeds loaded if needed, every relation created in its own
                                             transaction, then read(con) and a close in the background
    connect_input_views(plan, ...) -> con    the plan's views over its inputs, in memory, for a reader beside
                                             run_plan (Great Expectations)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import duckdb

from .. import runlock
from ..errors import UserError
from .plans import Plan, Step, _fill_now, missing_marts_error, plan_dir
from .seed_loading import _columns, _lit, _q, _relations, copy_cached_seeds, ensure_seeds, missing_inputs
from .sources import attach_linked

log = logging.getLogger(__name__)

# Relations (tables) created at the same time, each on its own DuckDB connection: the TOS check groups read
# tables of one or two row groups (~120k rows), which DuckDB scans on one thread each, so running two of
# them at once uses the second core. The longest ready step starts first (by the last run's durations), and
# steps side by side get one DuckDB thread each (``_Threads``). $IAPT_VALIDATE_WORKERS overrides it (1 runs
# the steps one after the other).
DEFAULT_WORKERS = 2
# How long each step took last time (step name -> seconds), for starting the longest ready steps first
# (a subfolder, so that it is never taken for a plan).
STEP_SECONDS_FILE = "runs/step_seconds.json"
# Where DuckDB spills what does not fit in memory: for the engine's in-memory instance its default is ".tmp"
# in the current folder, where pieces of the input (patient data) would land, and stay after a kill. A
# private folder in $TMPDIR instead, removed when the run ends, swept by the next run when a kill left it.
SPILL_PREFIX = "iapt-validate-spill."


@dataclass
class RunStats:
    """What the last run did (for the benchmark's phase log)."""

    plan_key: str = ""
    compiled: bool = False
    compile_seconds: float = 0.0
    seeds_loaded: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    read_value: Any = field(default=None, repr=False)  # what run_plan's ``read`` returned



def _create(con: duckdb.DuckDBPyConnection, plan: Plan, step: Step, existing: dict[tuple[str, str], str],
            now: datetime) -> None:
    rel = f"{_q(plan.catalog)}.{_q(step.schema)}.{_q(step.identifier)}"
    # What dbt drops: a relation of the other kind in the way, and its own leftover __dbt_tmp/__dbt_backup.
    for name in (step.identifier, f"{step.identifier}__dbt_tmp", f"{step.identifier}__dbt_backup"):
        kind = existing.get((step.schema, name))
        if kind and (name != step.identifier or kind != step.materialized):
            con.execute(f"drop {kind} {_q(plan.catalog)}.{_q(step.schema)}.{_q(name)}")
    con.execute(f"create or replace {step.materialized} {rel} as (\n{_fill_now(step.sql, now)}\n)")
    if step.comment:
        con.execute(f"comment on {step.materialized} {rel} is {_lit(step.comment)}")
    if step.column_comments:
        present = {c for c, _ in _columns(con, rel)}
        for col, text in step.column_comments.items():
            if col.strip('"') in present:
                con.execute(f"comment on column {rel}.{col} is {_lit(text)}")


def workers() -> int:
    """How many relations run_plan creates at the same time ($IAPT_VALIDATE_WORKERS, default DEFAULT_WORKERS)."""
    text = os.environ.get("IAPT_VALIDATE_WORKERS", "").strip()
    try:
        n = int(text) if text else DEFAULT_WORKERS
    except ValueError:
        raise UserError(f"IAPT_VALIDATE_WORKERS={text!r}: give a whole number of workers (1 or more)") from None
    return max(1, n)


def _connect(target_db: Path, plan: Plan, linked: Mapping[str, Path] | None, spill: Path,
             inputs: Callable[[duckdb.DuckDBPyConnection], None] | None, memory: bool,
             threads: int | None = None) -> duckdb.DuckDBPyConnection:
    wait_closed()
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"set temp_directory = {_lit(str(spill))}")
        if threads:
            con.execute(f"set threads = {int(threads)}")
        # Attach under the catalog name the SQL was compiled with (the file stem, unless the file was renamed).
        where = "':memory:'" if memory else _lit(str(Path(target_db).resolve()))
        con.execute(f"attach {where} as {_q(plan.catalog)}")
        attach_linked(con, linked)
        con.execute(f"use {_q(plan.catalog)}")
        if inputs:
            inputs(con)
    except BaseException:
        con.close()
        raise
    return con


def _prepare(con: duckdb.DuckDBPyConnection, target_db: Path, plan: Plan, stats: RunStats) -> None:
    """Seeds loaded and verified, marts present, schemas created: one transaction (after the seeds were
    copied from the seed cache into a database that had none)."""
    t = time.perf_counter()
    existing = _relations(con, plan.catalog)
    missing = missing_inputs(plan, existing)
    if missing:
        raise missing_marts_error(target_db, missing)  # before anything is written
    copied = copy_cached_seeds(con, plan, existing)
    con.execute("begin")
    try:
        if copied:
            existing = _relations(con, plan.catalog)
        stats.seeds_loaded = copied + ensure_seeds(con, plan, existing)
        stats.step_seconds["(seeds)"] = round(time.perf_counter() - t, 3)
        for schema in sorted({s.schema for s in plan.steps}):
            con.execute(f"create schema if not exists {_q(plan.catalog)}.{_q(schema)}")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def _run_step(con: duckdb.DuckDBPyConnection, target_db: Path, plan: Plan, step: Step,
              existing: dict[tuple[str, str], str], now: datetime, stats: RunStats) -> None:
    t = time.perf_counter()
    con.execute("begin")
    try:
        _create(con, plan, step, existing, now)
    except duckdb.Error as exc:
        con.execute("rollback")
        raise RuntimeError(
            f"validation model {step.name} failed on {target_db}: {exc}\n"
            "(re-run with IAPT_VALIDATE_WITH_DBT=1 to run the validation models through dbt)"
        ) from exc
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
    stats.step_seconds[step.name] = round(time.perf_counter() - t, 3)
    log.debug("validation: %s.%s (%s) in %.2fs", step.schema, step.identifier, step.materialized,
              stats.step_seconds[step.name])


def input_views(plan: Plan) -> list[Step]:
    """The plan's views that read nothing of the plan (only its inputs): the normalised tables ``tos_norm_*``."""
    names = {s.name for s in plan.steps}
    return [s for s in plan.steps if s.materialized == "view" and not any(d in names for d in s.depends_on)]


def connect_input_views(plan: Plan, linked: Mapping[str, Path] | None, spill: Path,
                        inputs: Callable[[duckdb.DuckDBPyConnection], None] | None) -> duckdb.DuckDBPyConnection:
    """A new DuckDB in memory under the plan's catalog name with the input relations (``inputs(con)``, over the
    ``linked`` databases, attached READ_ONLY) and the plan's ``input_views``: for a reader of the normalised
    tables beside ``run_plan`` (which has the same views in its own database). Spills go to ``spill`` (a
    private folder: the rows are patient data)."""
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"set temp_directory = {_lit(str(spill))}")
        con.execute(f"attach ':memory:' as {_q(plan.catalog)}")
        attach_linked(con, linked)
        con.execute(f"use {_q(plan.catalog)}")
        if inputs:
            inputs(con)
        now = datetime.now(timezone.utc)
        for step in input_views(plan):
            con.execute(f"create schema if not exists {_q(plan.catalog)}.{_q(step.schema)}")
            _create(con, plan, step, {}, now)
    except BaseException:
        con.close()
        raise
    return con


def read_step_seconds() -> dict[str, float]:
    """The step durations the last run recorded ({} when there is none or it cannot be read: a cache)."""
    try:
        data = json.loads((plan_dir() / STEP_SECONDS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float))}


def write_step_seconds(seconds: Mapping[str, float]) -> None:
    """Record step durations (best effort: they only order later runs)."""
    path = plan_dir() / STEP_SECONDS_FILE
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(dict(sorted(seconds.items())), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.debug("validation: step durations not recorded: %s", exc)


def longest_first(steps: list[Step], seconds: Mapping[str, float]) -> list[Step]:
    """The ready steps in the order to start them: the longest last time first (so the longest check group
    does not start last and leave one core idle at the end), then in plan order."""
    return sorted(steps, key=lambda s: -seconds.get(s.name, 0.0))  # (stable: ties keep the plan order)


class _Threads:
    """DuckDB's thread count for the steps running at once. Side by side, each query gets one thread (the
    cores are already shared out between them; extra threads only add scheduling work: 15% more CPU for the
    check groups of the benchmark month); a step running alone (the cascade, the summaries) gets them all."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._all = int(con.execute("select current_setting('threads')").fetchone()[0])
        self._now = self._all

    def share(self, steps_at_once: int) -> None:
        n = self._all if steps_at_once <= 1 else max(1, self._all // steps_at_once)
        if n != self._now:
            self._con.execute(f"set threads = {n}")
            self._now = n


class Closing:
    """The engine's connection, closed on a background thread: closing checkpoints the new relations into
    the file (0.2-0.3 s at benchmark scale), which can overlap the caller's report writing. ``wait()`` before
    the file is opened again in this process (another attach of it would fail on the file lock)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._close, args=(con,), name="tos-close", daemon=False)
        self._thread.start()

    def _close(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised by wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


_closing: list[Closing] = []  # connections of run_plan(read=...) still closing


def wait_closed() -> None:
    """Wait until every connection run_plan left closing in the background is closed (and checkpointed)."""
    while _closing:
        _closing.pop().wait()


def run_plan(target_db: Path, plan: Plan, stats: RunStats | None = None,
             read: Callable[[duckdb.DuckDBPyConnection], Any] | None = None,
             linked: Mapping[str, Path] | None = None,
             inputs: Callable[[duckdb.DuckDBPyConnection], None] | None = None, memory: bool = False,
             threads: int | None = None) -> RunStats:
    """Load the seeds if needed, then create every relation of the plan in target_db, each once the relations
    it reads exist. Views (instant) are created on the main connection; tables go to ``workers()`` threads,
    each with its own connection, so independent tables are computed at the same time, the longest (by the
    last run's durations, ``STEP_SECONDS_FILE``) first. Each relation is created in its own transaction (as
    `dbt build` does): if a step fails, the relations before it are new, the others as they were, and the
    error names the step.

    With ``read``, ``read(con)`` runs on the engine's connection once every relation exists (its value is
    ``stats.read_value``), and the connection is then closed in the background: ``wait_closed()`` before
    the file is opened again in this process. ``linked``: the databases target_db's views read (alias ->
    file, ``sources.link_marts_on``), attached READ_ONLY beside it. ``inputs(con)``, when given, makes the input
    relations on the engine's connection first (``sources.link_marts_on``).

    ``memory``: the relations are made in a database in memory under target_db's catalog name instead, and
    target_db is not opened (``inputs`` make the input relations there; the seeds are copied as into a new
    file), and the data tests' stored failures are not made (nothing could read them afterwards). For a
    caller that only reads the results, with ``read``: nothing of the run is written to disk (no write-ahead
    log, no checkpoint; spills go to the private folder).

    ``threads``: DuckDB's threads for the whole run (default: DuckDB's, one per core), for a run beside other
    work; with one thread the steps run one after the other (``workers()`` is for a machine of its own)."""
    stats = stats or RunStats(plan_key=plan.key)
    began = time.perf_counter()
    last_seconds = read_step_seconds()
    with runlock.private_scratch(None, SPILL_PREFIX) as spill:
        con = _connect(target_db, plan, linked, spill, inputs, memory, threads)
        closed_later = _run_steps(con, target_db, plan, stats, last_seconds, read, memory,
                                  1 if threads == 1 else workers())
    if closed_later:
        _closing.append(Closing(con))  # (after the spill folder went: nothing is computed any more)
    write_step_seconds({**last_seconds, **stats.step_seconds})  # steps of other plans keep their durations
    stats.seconds = round(time.perf_counter() - began, 3)
    return stats


def _run_steps(con: duckdb.DuckDBPyConnection, target_db: Path, plan: Plan, stats: RunStats,
               last_seconds: Mapping[str, float], read: Callable[[duckdb.DuckDBPyConnection], Any] | None,
               memory: bool, n_workers: int) -> bool:
    """run_plan's work on its connection. -> True when the connection is left open for the caller to close
    (after ``read``), False when it was closed here."""
    closed_later = False
    try:
        _prepare(con, target_db, plan, stats)
        existing = _relations(con, plan.catalog)
        now = datetime.now(timezone.utc)
        # in memory nothing outlives the run: the data tests' stored failures, which only people read
        # afterwards, are not made
        steps = [s for s in plan.steps if not (memory and s.test_failures)]
        names = {s.name for s in steps}
        pending = list(steps)  # in dependency order
        done: set[str] = set()
        cursors: list[duckdb.DuckDBPyConnection] = []

        def on_worker(step: Step) -> None:
            cur = con.cursor()
            cursors.append(cur)
            try:
                cur.execute("set enable_progress_bar = false")
                _run_step(cur, target_db, plan, step, existing, now, stats)
            finally:
                cur.close()

        threads = _Threads(con)
        with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="tos-step") as pool:
            running: dict[Future[None], Step] = {}
            try:
                while pending or running:
                    started = True
                    while started:  # views run at once, which can make more steps ready
                        started = False
                        ready = [s for s in pending if all(d in done or d not in names for d in s.depends_on)]
                        tables = [s for s in ready if s.materialized != "view"]
                        if n_workers > 1:
                            threads.share(min(n_workers, len(running) + len(tables)))
                        for step in longest_first(ready, last_seconds):
                            pending.remove(step)
                            if step.materialized == "view" or n_workers == 1:
                                _run_step(con, target_db, plan, step, existing, now, stats)
                                done.add(step.name)
                                started = True
                            else:
                                running[pool.submit(on_worker, step)] = step
                    if not running:
                        if pending:
                            raise RuntimeError(f"validation plan {plan.key}: steps wait on each other: "
                                               f"{sorted(s.name for s in pending)}")
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        step = running.pop(fut)
                        fut.result()
                        done.add(step.name)
            except BaseException:
                for fut in running:
                    fut.cancel()
                for cur in list(cursors):
                    with contextlib.suppress(duckdb.Error):
                        cur.interrupt()
                raise
        if read is not None:
            stats.read_value = read(con)
            closed_later = True
    finally:
        if not closed_later:
            con.close()
    return closed_later
