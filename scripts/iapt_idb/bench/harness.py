"""Benchmark a national-scale month end to end (``make bench``).

    python -m iapt_idb.bench [--patients 340000] [--seed 1] [--period 2026-10] [--out bench/]
                             [--defect-rate 0] [--drop-rejected] [--skip-generate]
                             [--phases generate,build,validate,validate_dbt,validate_gx,verdict,export,...]
                             [--postgres [--start-server]]

Generates (or re-uses, when one made with the same settings is there) a synthetic warehouse,
then runs each phase of the monthly job in its own child process, timing it and recording its
peak memory: dbt build of the marts, validation as `iapt-idb validate` runs it (the TOS rules, i.e. the dbt
validation models' compiled SQL run by the validation engine, then Great Expectations) and each of its two
halves alone, export to .accdb, and a read-back check through the national reader replica. In the same run,
on the same marts, it times two physical baselines: DuckDB copying the 21 marts to Parquet and
raw Jackcess ``addRows`` of the same rows. It prints a table and PASS/FAIL per target and writes
``<out>/results.json`` (rewritten after every phase, so a stopped run keeps its figures).

The short phases behind the ratio targets (validation, export and the two baselines) run ``--repeat`` times
(default 3), in rounds (each of them once per round, so that a phase and its baseline meet the same moments
of the machine), and the run with the median time is reported, with the spread in its note: on a shared
2-core machine one run of a few seconds swings by a third.

Columns: ``seconds`` is the API call alone; ``wall s`` the whole child process (interpreter start
and imports included); ``cpu s`` its user+system CPU, which a busy shared machine does not stretch;
``peak MB`` the larger of the kernel's peak RSS of the largest process in the phase's tree and the
sampled peak of the tree's summed RSS (see ``proc``).

Scale (checked and printed; the default --patients meets it): at least 100,000 patients, 120,000
referrals in the period (the IDS101 mart), and in the warehouse 1,000,000 care contacts and
1,500,000 each of care activities and coded assessments. The generator keeps 24 months of history,
so about 36% of its referrals are open in a given month: 340,000 patients give ~121,000.

The build has a physical baseline of its own, timed beside it in rounds (``--build-repeat``): DuckDB reading
each warehouse table the staging layer reads, once, into a scratch DuckDB file. Before them the month before is
built into the same target DB (``prior_build``, reported, no target): a provider's month end finds last month's
build there (dbt's parse cache, the seeds, the staging views, the compiled validation plans), so the first timed
round is the month as a provider runs it, a new period (no file parsed again: the month is read when a model
runs), and a fresh install's one-off costs show on their own row. Last, ``build_idb`` (reported, no target) builds the
month again as ``iapt-idb build --no-measures`` does: the marts without the headline measures, and the month end
with that build. ``--busy N`` runs N CPU-bound
processes beside every phase, to measure the ratio targets on a loaded machine.

With ``--postgres`` the month runs on PostgreSQL too, after the DuckDB phases: ``pg_load`` (the warehouse
into PostgreSQL), ``pg_build``, and ``pg_validate`` and ``pg_export`` as the CLI runs them there (each copies
the model tables into a scratch DuckDB first). ``--start-server`` starts a throwaway local server for it
(``iapt_idb.pgserver``; ``make bench PG=1``), stopped and removed at the end, on Ctrl-C and on kill.

Targets (the benchmark checks them; no timed test does):
  * up to the benchmark scale: build + validate + export < 50 s (child wall-clock time) and peak memory of
    every month-end phase (build, validate, export) < 2 GB; above it: peak memory < 4 GB;
  * dbt build <= 3 x the one-pass baseline, in every round;
  * validation time <= 3 x the Parquet copy time (the TOS rules alone in every round; with GX, the median);
  * export throughput >= 1/2 raw Jackcess throughput, in every round.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import lifeline, ods
from ..paths import ROOT
from ..periods import parse_period, period_arg
from ..warehouse.gen_reference import PROVIDER as SYNTHETIC_PROVIDER
from .proc import ChildRun, run_child

PHASE_MODULE = "iapt_idb.bench.phases"
MONTH_END = ("build", "validate", "export")
# Baselines before the read-back check: the figures the targets need come first. build_idb (`build
# --no-measures`, reported, no target) comes last: it drops the measures the build made.
ALL_PHASES = (
    "generate", "prior_build", "onepass", "build", "validate", "validate_dbt", "validate_gx", "verdict", "export",
    "parquet", "raw_jackcess", "readback", "build_idb",
)
# --postgres: the month again on the postgres target, after the DuckDB phases: load the warehouse into
# PostgreSQL, build there, then validate and export as the CLI does (each on its own copy of the model tables).
PG_PHASES = ("pg_load", "pg_build", "pg_validate", "pg_export")
BASELINE_OF = {"build": "onepass", "validate_dbt": "parquet", "validate": "parquet", "export": "raw_jackcess"}
LABELS = {
    "generate": "generate warehouse",
    "prior_build": "build of the month before",
    "build": "dbt build (marts)",
    "build_idb": "build --no-measures",
    "validate": "validation (CLI)",
    "validate_dbt": "- TOS rules alone",
    "validate_gx": "- GX alone",
    "verdict": "export verdict (CLI)",
    "export": "export .accdb",
    "readback": "read-back check",
    "parquet": "baseline: Parquet copy",
    "raw_jackcess": "baseline: raw Jackcess",
    "onepass": "baseline: one pass",
    "pg_load": "pg: load warehouse",
    "pg_build": "pg: dbt build (marts)",
    "pg_validate": "pg: validation (CLI)",
    "pg_export": "pg: export .accdb",
}
DEPENDS = {
    "build_idb": "build",
    "validate": "build",
    "validate_dbt": "build",
    "validate_gx": "validate_dbt",
    "verdict": "build",
    "export": "build",
    "readback": "export",
    "parquet": "build",
    "raw_jackcess": "build",
    "pg_build": "pg_load",
    "pg_validate": "pg_build",
    "pg_export": "pg_build",
}
# The phases behind the ratio targets are short (seconds) and a shared 2-core VM swings them by +-30%: each
# runs --repeat times, in rounds beside its baseline, and the run with the median time is reported (its peak
# memory the largest of all).
REPEATED = ("validate", "validate_dbt", "validate_gx", "export", "parquet", "raw_jackcess")
# The build runs in rounds too (--build-repeat), beside its own baseline: one pass over the warehouse tables the
# staging layer reads (DuckDB reading each once and writing it into a scratch DuckDB file).
BUILD_ROUND = ("onepass", "build")
DEFAULT_REPEAT = 3
DEFAULT_BUILD_REPEAT = 1
DEFAULT_PATIENTS = 340_000
# (what, at least, counted in, tables): the benchmark scale a national-size provider month must reach.
SCALE_FLOOR: tuple[tuple[str, int, str, tuple[str, ...]], ...] = (
    ("patients", 100_000, "warehouse", ("patient",)),
    ("referrals in the period", 120_000, "marts", ("IDS101Referral",)),
    ("care contacts", 1_000_000, "warehouse", ("appointment",)),
    ("care activities", 1_500_000, "warehouse", ("appointment_intervention",)),
    ("coded assessments", 1_500_000, "warehouse", ("questionnaire_score",)),
)
# Month-end targets: at the benchmark scale (up to DEFAULT_PATIENTS) build + validate + export under 50 s and
# every phase under 2 GB; above it (the 1,000,000-patient run) the month must still complete under 4 GB.
TIME_LIMIT_S = 50.0
MEMORY_LIMIT_MB = 2048.0
LARGE_MEMORY_LIMIT_MB = 4096.0
BUILD_MAX_RATIO = 3.0
VALIDATION_MAX_RATIO = 3.0
EXPORT_MIN_RATIO = 0.5
KEY_TABLES = (
    ("referrals", ("IDS101Referral",)),
    ("care contacts", ("IDS201CareContact",)),
    ("care activities", ("IDS202CareActivity",)),
    ("coded assessments", ("IDS606CodedScoreAssessmentRefer", "IDS607CodedScoreAssessmentAct")),
)


@dataclass
class PhaseRecord:
    phase: str
    status: str  # ok | failed | skipped | reused
    rows: int | None = None
    seconds: float | None = None  # time of the API call alone
    wall_seconds: float | None = None  # the whole child process
    cpu_seconds: float | None = None  # user + system CPU of the child's process tree
    maxrss_mb: float | None = None
    tree_mb: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def peak_mb(self) -> float | None:
        vals = [v for v in (self.maxrss_mb, self.tree_mb) if v is not None]
        return max(vals) if vals else None

    @property
    def rate(self) -> float | None:
        if self.rows is None or not self.seconds:
            return None
        return self.rows / self.seconds


@dataclass
class Paths:
    out: Path

    @property
    def warehouse(self) -> Path:
        return self.out / "local_warehouse.duckdb"

    @property
    def stamp(self) -> Path:
        return self.out / "local_warehouse.settings.json"

    @property
    def target_db(self) -> Path:
        return self.out / "iapt_idb.duckdb"

    def accdb(self, period: str) -> Path:
        return self.out / f"IAPT_IDB_{period}.accdb"

    @property
    def raw_accdb(self) -> Path:
        return self.out / "raw_jackcess.accdb"

    @property
    def readback_db(self) -> Path:
        return self.out / "readback.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.out / "parquet"

    @property
    def report_dir(self) -> Path:
        return self.out / "validation"

    @property
    def logs(self) -> Path:
        return self.out / "logs"


# --------------------------------------------------------------------------- arguments


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m iapt_idb.bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--patients", type=int, default=DEFAULT_PATIENTS,
        help=f"patients in the warehouse (default {DEFAULT_PATIENTS}: the smallest round figure that meets the "
        "benchmark scale; smaller runs are fine for a try but report the scale as not met)",
    )
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--period", type=period_arg, default="2026-10", help="reporting month (default 2026-10)")
    p.add_argument("--defect-rate", type=float, default=0.0, help="share of rows given defects (default 0: a clean month, which the export writes whole)")
    p.add_argument("--out", type=Path, default=ROOT / "bench", help="work and results folder (default bench/)")
    p.add_argument(
        "--drop-rejected",
        action="store_true",
        help="export (and the raw Jackcess baseline) only the rows the platform would keep, as "
        "'iapt-idb export --drop-rejected' does; needs the validation phase",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"runs of each short phase behind a ratio target ({', '.join(REPEATED)}), in rounds (each of "
        f"them once per round); the median run is reported, with the spread (default {DEFAULT_REPEAT})",
    )
    p.add_argument(
        "--build-repeat", type=int, default=DEFAULT_BUILD_REPEAT,
        help=f"runs of the dbt build, in rounds beside its one-pass baseline (default {DEFAULT_BUILD_REPEAT})",
    )
    p.add_argument(
        "--busy", type=int, default=0, metavar="N",
        help="run N CPU-bound processes (busy loops) beside every phase, to measure the ratio targets on a "
             "loaded machine (default 0)",
    )
    p.add_argument("--postgres", action="store_true",
                   help="after the DuckDB phases, run the month on PostgreSQL too (the server of the IAPT_PG_* "
                        "variables, or --start-server's): load the warehouse, dbt build there, validate and "
                        "export as the CLI does (each copies the model tables into a scratch DuckDB first)")
    p.add_argument("--start-server", action="store_true",
                   help="with --postgres: start a throwaway PostgreSQL server on this machine for the run "
                        "(Debian's binaries; iapt_idb.pgserver) and stop it, its data folder removed, at the end, "
                        "on Ctrl-C and on kill")
    p.add_argument("--skip-generate", action="store_true", help="use the warehouse already in --out, whatever its settings")
    p.add_argument(
        "--phases",
        default=",".join(ALL_PHASES),
        help=f"comma-separated subset of {','.join(ALL_PHASES)} (default all); validate is `iapt-idb validate` "
        "(TOS rules and GX, as the CLI runs them), validate_dbt and validate_gx its two halves run alone",
    )
    return p


def selected_phases(text: str, postgres: bool = False) -> list[str]:
    """The phases asked for, in running order; with postgres the PostgreSQL month after them (PG_PHASES, or
    those of them named)."""
    wanted = [p.strip() for p in text.split(",") if p.strip()]
    known = (*ALL_PHASES, *PG_PHASES)
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise SystemExit(f"unknown phase(s): {', '.join(unknown)}; choose from {', '.join(known)}")
    pg_wanted = [p for p in PG_PHASES if p in wanted] or (list(PG_PHASES) if postgres else [])
    return [p for p in ALL_PHASES if p in wanted] + pg_wanted


def previous_period(period: str) -> str:
    """The month before period (YYYY-MM)."""
    start = parse_period(period)[0]
    return (start - dt.timedelta(days=1)).strftime("%Y-%m")


def fixed_created_at(period: str) -> str:
    """A fixed IDS000 creation time (5 days after the period ends) so runs are reproducible."""
    end = parse_period(period)[1]
    return (dt.datetime.combine(end, dt.time(9, 0)) + dt.timedelta(days=5)).isoformat(timespec="seconds")


def child_environment(paths: Paths) -> None:
    """Isolate dbt's and the project's outputs under --out (inherited by every phase child)."""
    os.environ.setdefault("DBT_TARGET_PATH", str(paths.out / "dbt_target"))
    os.environ.setdefault("DBT_LOG_PATH", str(paths.out / "dbt_logs"))
    os.environ.setdefault("DBT_PROFILES_DIR", str(ROOT))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("IAPT_IDB_PROJECT_DIR", str(ROOT))
    os.environ["IAPT_WAREHOUSE_PATH"] = str(paths.warehouse.resolve())
    os.environ["IAPT_TARGET_DB"] = str(paths.target_db.resolve())
    # the generated warehouse's made-up provider, configured as a provider configures its own code: the build,
    # validate and the export's verdict all use it, so the plans the build compiles are the ones they run
    os.environ[ods.ENV_PROVIDER] = os.environ[ods.ENV_SUBMITTER] = SYNTHETIC_PROVIDER


# --------------------------------------------------------------------------- running phases


def run_phase(phase: str, params: dict[str, Any], paths: Paths) -> PhaseRecord:
    print(f"==> {LABELS[phase]} ...", file=sys.stderr, flush=True)
    log = paths.logs / f"{phase}.log"
    log.unlink(missing_ok=True)
    run: ChildRun = run_child(PHASE_MODULE, phase, params, log=log)
    rec = PhaseRecord(
        phase=phase,
        status="ok" if run.returncode == 0 and run.result else "failed",
        rows=run.result.get("rows"),
        seconds=run.result.get("seconds"),
        wall_seconds=run.wall_seconds,
        cpu_seconds=run.cpu_seconds,
        maxrss_mb=run.maxrss_mb,
        tree_mb=run.tree_mb,
        detail={k: v for k, v in run.result.items() if k not in ("rows", "seconds")},
    )
    if rec.status == "failed":
        rec.note = f"exit {run.returncode}; see {log}"
        print(_tail(log), file=sys.stderr)
    print(f"    {rec.status}: {_fmt(rec.seconds, '.1f')} s, peak {_fmt(rec.peak_mb, '.0f')} MB", file=sys.stderr)
    return rec


def median_run(runs: list[PhaseRecord]) -> PhaseRecord:
    """Of several successful runs of one phase, the run with the median time, with the peak memory of all runs
    and every run's time (detail['runs'])."""
    times = len(runs)
    if times == 1:
        return runs[0]
    median = sorted(runs, key=lambda r: r.seconds or 0.0)[(times - 1) // 2]
    median.maxrss_mb = max(r.maxrss_mb or 0.0 for r in runs)
    median.tree_mb = max(r.tree_mb or 0.0 for r in runs)
    seconds = [round(r.seconds or 0.0, 2) for r in runs]
    median.detail["runs"] = {"seconds": seconds, "wall_seconds": [round(r.wall_seconds or 0.0, 2) for r in runs]}
    median.note = f"median of {times} runs ({min(seconds):.1f}-{max(seconds):.1f} s)"
    return median


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def generation_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"patients": args.patients, "seed": args.seed, "defect_rate": args.defect_rate, "period": args.period}


def generator_fingerprint() -> str:
    """The generator's own fingerprint (its code, sub-packages included, and mapping seeds): a changed
    generator means a new warehouse."""
    from ..warehouse.generate import generator_fingerprint as fingerprint

    return fingerprint()[:16]


def warehouse_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What the settings stamp records: generator arguments and the generator's code fingerprint."""
    return {**generation_settings(args), "generator": generator_fingerprint()}


def reusable_stamp(paths: Paths, settings: dict[str, Any], skip_generate: bool) -> dict[str, Any] | None:
    """The stamp of a warehouse that can be re-used (same settings, or --skip-generate), else None."""
    stamp = _read_stamp(paths.stamp)
    if paths.warehouse.exists() and (skip_generate or stamp.get("settings") == settings):
        return stamp
    return None


def ensure_warehouse(args: argparse.Namespace, paths: Paths) -> PhaseRecord:
    """Generate the warehouse, or re-use it when the settings stamp matches (or --skip-generate)."""
    settings = warehouse_settings(args)
    stamp = reusable_stamp(paths, settings, args.skip_generate)
    if stamp is not None:
        rec = PhaseRecord(**stamp["record"]) if "record" in stamp else PhaseRecord("generate", "reused")
        rec.status, rec.note = "reused", f"re-used {paths.warehouse.name} (timings from when it was made)"
        return rec
    if args.skip_generate:
        raise SystemExit(f"--skip-generate: no warehouse at {paths.warehouse}")
    for stale in (paths.warehouse, paths.stamp, Path(str(paths.warehouse) + ".wal")):
        stale.unlink(missing_ok=True)
    rec = run_phase("generate", {**settings, "warehouse": str(paths.warehouse)}, paths)
    if rec.status == "ok":
        paths.stamp.write_text(json.dumps({"settings": settings, "record": asdict(rec)}, indent=2, sort_keys=True))
    return rec


def _read_stamp(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def phase_params(phase: str, args: argparse.Namespace, paths: Paths, mart_rows: int | None) -> dict[str, Any]:
    common = {"period": args.period, "target_db": str(paths.target_db), "rows": mart_rows, "logs": str(paths.logs)}
    extra: dict[str, dict[str, Any]] = {
        "build": {"warehouse": str(paths.warehouse), "created_at": fixed_created_at(args.period)},
        "build_idb": {"warehouse": str(paths.warehouse), "created_at": fixed_created_at(args.period),
                      "log_name": "build_idb", "measures": False},
        "prior_build": {"warehouse": str(paths.warehouse), "period": previous_period(args.period),
                        "created_at": fixed_created_at(previous_period(args.period)), "log_name": "prior_build"},
        "validate": {"report_dir": str(paths.report_dir)},
        "validate_dbt": {"report_dir": str(paths.report_dir)},
        "validate_gx": {"report_dir": str(paths.report_dir)},
        "verdict": {},
        "export": {"accdb": str(paths.accdb(args.period)), "drop_rejected": args.drop_rejected},
        "readback": {"accdb": str(paths.accdb(args.period)), "readback_db": str(paths.readback_db)},
        "parquet": {"parquet_dir": str(paths.parquet_dir)},
        "raw_jackcess": {"raw_accdb": str(paths.raw_accdb), "drop_rejected": args.drop_rejected},
        "onepass": {"warehouse": str(paths.warehouse), "onepass_db": str(paths.out / "onepass.duckdb")},
        "pg_load": {"warehouse": str(paths.warehouse)},
        "pg_build": {"warehouse": str(paths.warehouse), "created_at": fixed_created_at(args.period)},
        "pg_validate": {"report_dir": str(paths.out / "pg_validation")},
        "pg_export": {"accdb": str(paths.out / f"pg_IAPT_IDB_{args.period}.accdb"), "drop_rejected": False},
    }
    return {**common, **extra[phase]}


def existing_mart_counts(paths: Paths) -> dict[str, int] | None:
    """Mart row counts from a target DB built by an earlier run (when build is not selected)."""
    if not paths.target_db.exists():
        return None
    from .phases import mart_counts

    try:
        return mart_counts(str(paths.target_db))
    except Exception:  # noqa: BLE001 - an unreadable or half-built DB just means "unknown"
        return None


Saver = Callable[[dict[str, PhaseRecord], "dict[str, int] | None"], None]


def run_all(
    args: argparse.Namespace, paths: Paths, save: Saver | None = None
) -> tuple[dict[str, PhaseRecord], dict[str, int] | None]:
    """Run the selected phases in order; call save(records, counts) after each (partial results). With --busy,
    competing CPU-bound processes run beside every phase after the warehouse is there."""
    phases = selected_phases(args.phases, getattr(args, "postgres", False))
    records: dict[str, PhaseRecord] = {}
    if "generate" in phases:
        records["generate"] = ensure_warehouse(args, paths)
    counts = None if "build" in phases else existing_mart_counts(paths)
    todo = [p for p in phases if p != "generate"]
    with busy_processes(getattr(args, "busy", 0)):
        counts = _run_rounds(args, paths, todo, records, counts, save)
    if "readback" in records and records["readback"].status == "ok":
        written = records["export"].detail.get("detail", {}).get("tables") if "export" in records else None
        expected = written or counts or {}
        records["readback"].note = readback_note(expected, records["readback"].detail.get("counts", {}))
        if records["readback"].note.startswith("MISMATCH"):
            records["readback"].status = "failed"
    return records, counts


def _run_rounds(args: argparse.Namespace, paths: Paths, todo: list[str], records: dict[str, PhaseRecord],
                counts: dict[str, int] | None, save: Saver | None) -> dict[str, int] | None:
    """Run the phases of todo in order, the repeated ones in rounds; return the mart counts."""
    rounds = max(1, args.repeat)
    while todo:
        # The repeated phases (and the verdict between them) run in rounds, each phase once per round, so that
        # a phase and its baseline meet the same moments of a shared machine; the median run is reported. The
        # build and its one-pass baseline form rounds of their own (--build-repeat).
        block = [todo.pop(0)]
        if block[0] in BUILD_ROUND:
            while todo and todo[0] in BUILD_ROUND:
                block.append(todo.pop(0))
            in_rounds, times = BUILD_ROUND, max(1, args.build_repeat)
        else:
            while block[0] in REPEATED and todo and (todo[0] in REPEATED or todo[0] == "verdict"):
                block.append(todo.pop(0))
            in_rounds, times = REPEATED, (rounds if block[0] in REPEATED else 1)
        runs: dict[str, list[PhaseRecord]] = {p: [] for p in block}
        for r in range(times):
            for phase in block:
                if (r > 0 and phase not in in_rounds) or (phase in records and records[phase].status != "ok"):
                    continue
                blocked = [d for d in dependencies(phase, args)
                           if d in records and records[d].status not in ("ok", "reused")]
                if blocked:
                    records[phase] = PhaseRecord(phase, "skipped", note=f"{blocked[0]} failed")
                    continue
                rows = sum(counts.values()) if counts else None
                rec = run_phase(phase, phase_params(phase, args, paths, rows), paths)
                runs[phase].append(rec)
                records[phase] = rec if rec.status != "ok" else median_run(runs[phase])
                if phase == "build" and rec.status == "ok":
                    counts = rec.detail.get("counts")
                if save:
                    save(records, counts)
    return counts


def dependencies(phase: str, args: argparse.Namespace) -> list[str]:
    deps = [DEPENDS[phase]] if phase in DEPENDS else []
    if args.drop_rejected and phase in ("export", "raw_jackcess"):
        deps.append("validate_dbt")
    return deps


def readback_note(marts: dict[str, int], read: dict[str, int]) -> str:
    """Compare the rows the export wrote (else the marts) with what the replica read back."""
    diffs = [f"{t}: written {n} vs read {read.get(t)}" for t, n in marts.items() if read.get(t) != n]
    if not marts:
        return "nothing to compare with (export did not run)"
    return f"row counts match in all {len(marts)} tables" if not diffs else "MISMATCH " + "; ".join(diffs)


# --------------------------------------------------------------------------- report


def _fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def baseline_ratio(phase: str, records: dict[str, PhaseRecord]) -> tuple[str, float | None]:
    """validate (and its TOS-rules part): time / Parquet copy time; export: rows/s / raw Jackcess rows/s."""
    base = records.get(BASELINE_OF.get(phase, ""))
    rec = records[phase]
    if base is None or rec.status != "ok" or base.status != "ok":
        return "", None
    if phase in ("build", "validate", "validate_dbt") and rec.seconds and base.seconds:
        return "time x", rec.seconds / base.seconds
    if phase == "export" and rec.rate and base.rate:
        return "rate x", rec.rate / base.rate
    return "", None


def round_ratios(phase: str, records: dict[str, PhaseRecord]) -> list[float]:
    """The phase against its baseline in each round (both ran in it): time x, or rate x for the export."""
    base = records.get(BASELINE_OF.get(phase, ""))
    rec = records.get(phase)
    if base is None or rec is None or rec.status != "ok" or base.status != "ok":
        return []
    mine = (rec.detail.get("runs") or {}).get("seconds") or [rec.seconds]
    theirs = (base.detail.get("runs") or {}).get("seconds") or [base.seconds]
    pairs = [(a, b) for a, b in zip(mine, theirs) if a and b]
    if phase == "export":  # rows/s against rows/s
        return [((rec.rows or 0) / a) / ((base.rows or 0) / b) for a, b in pairs if base.rows]
    return [a / b for a, b in pairs]


def format_table(records: dict[str, PhaseRecord]) -> str:
    head = (f"{'phase':<24}{'rows':>11}{'seconds':>9}{'wall s':>8}{'cpu s':>8}{'rows/s':>10}{'peak MB':>9}"
            f"  {'vs baseline':<15}status")
    lines = [head, "-" * len(head)]
    for phase, rec in records.items():
        kind, ratio = baseline_ratio(phase, records)
        ratio_text = f"{kind} {ratio:.2f}" if ratio is not None else ""
        lines.append(
            f"{LABELS[phase]:<24}{_fmt(rec.rows, ',d'):>11}{_fmt(rec.seconds, '.1f'):>9}"
            f"{_fmt(rec.wall_seconds, '.1f'):>8}{_fmt(rec.cpu_seconds, '.1f'):>8}{_fmt(rec.rate, ',.0f'):>10}"
            f"{_fmt(rec.peak_mb, ',.0f'):>9}"
            f"  {ratio_text:<15}{rec.status}{(' - ' + rec.note) if rec.note else ''}"
        )
    return "\n".join(lines)


def check_targets(records: dict[str, PhaseRecord], patients: int = DEFAULT_PATIENTS) -> list[dict[str, Any]]:
    """PASS/FAIL (or N/A when a phase did not run) for each target. The ratio targets hold in every round: the
    worst round is checked. Above the benchmark scale only completing under 4 GB is a target."""
    ok = {p: r for p, r in records.items() if r.status == "ok"}
    checks: list[dict[str, Any]] = []
    at_scale = patients <= DEFAULT_PATIENTS

    month = [ok[p].wall_seconds for p in MONTH_END if p in ok]
    total = sum(month) if len(month) == len(MONTH_END) else None
    if at_scale:
        checks.append(_check("build+validate+export wall time", total, TIME_LIMIT_S, "<", "s"))

    peaks = [ok[p].peak_mb for p in MONTH_END if p in ok]
    peak = max(peaks) if len(peaks) == len(MONTH_END) else None
    limit = MEMORY_LIMIT_MB if at_scale else LARGE_MEMORY_LIMIT_MB
    checks.append(_check("peak memory of build/validate/export", peak, limit, "<", "MB"))

    def every_round(name: str, phase: str, limit: float, op: str) -> dict[str, Any]:
        """The worst round decides; every round's ratio is kept beside it (how close the others came)."""
        ratios = round_ratios(phase, records)
        value = (max(ratios) if op == "<=" else min(ratios)) if ratios else None
        return {**_check(name, value, limit, op, "x"), "rounds": ratios}

    checks.append(every_round("dbt build time / one-pass baseline (worst round)", "build", BUILD_MAX_RATIO, "<="))
    checks.append(every_round("validation (TOS rules) time / Parquet copy time (worst round)", "validate_dbt",
                              VALIDATION_MAX_RATIO, "<="))
    validation = baseline_ratio("validate", records)[1] if "validate" in records else None
    checks.append(_check("validation time / Parquet copy time", validation, VALIDATION_MAX_RATIO, "<=", "x"))
    checks.append(every_round("export rows/s / raw Jackcess rows/s (worst round)", "export", EXPORT_MIN_RATIO,
                              ">="))
    return checks


def _raw_plus(records: dict[str, PhaseRecord], parts: tuple[str, ...]) -> tuple[dict[str, float], str] | None:
    """The raw Jackcess baseline (median run) with the seconds of its recorded ``parts`` added: (its timings,
    "<rows/s>; export / that = <ratio> x"), or None unless both phases succeeded and every part was recorded."""
    raw, export = records.get("raw_jackcess"), records.get("export")
    if not (raw and export and raw.status == export.status == "ok" and export.rate):
        return None
    t = raw.detail.get("detail", {}).get("timings", {})
    if not all(k in t for k in parts):
        return None
    seconds = raw.seconds + sum(t[k] for k in parts)
    if not seconds:
        return None
    rate = raw.rows / seconds
    return t, f"{rate:,.0f} rows/s; export / that = {export.rate / rate:.2f} x"


def jpype_note(records: dict[str, PhaseRecord]) -> str | None:
    """The export against addRows *plus* building the Java Object[][] from Python rows (JPype boxing)."""
    got = _raw_plus(records, ("java_arrays_s",))
    if got is None:
        return None
    t, versus = got
    return f"  INFO  raw Jackcess incl. Python->Java row arrays (JPype, {t['java_arrays_s']:.1f} s): {versus}"


def fresh_jvm_note(records: dict[str, PhaseRecord]) -> str | None:
    """The export against raw Jackcess *plus* what every export pays before its first row and the baseline
    leaves out: the JVM's start and the file's creation with its 21 tables (not a target; the median runs)."""
    got = _raw_plus(records, ("jvm_start_s", "create_s"))
    if got is None:
        return None
    t, versus = got
    return (f"  INFO  raw Jackcess incl. its JVM's start and the file's 21 tables ({t['jvm_start_s']:.1f} + "
            f"{t['create_s']:.1f} s, as every export pays them): {versus}")


def gx_note(records: dict[str, PhaseRecord]) -> str | None:
    """Where GX's time goes, its import against the 3 x budget: why validation with GX cannot meet it."""
    gx, base = records.get("validate_gx"), records.get("parquet")
    if not (gx and base and gx.status == base.status == "ok" and base.seconds):
        return None
    t = gx.detail.get("gx_timings") or {}
    if not t:
        return None
    return (f"  INFO  GX alone: import {t['import_s']:.1f} s ({t['import_s'] / base.seconds:.1f} x the Parquet copy "
            f"by itself), suites and validation {t['suites_s']:.1f} s, data docs {t['data_docs_s']:.1f} s")


def _wall_total(records: dict[str, PhaseRecord], names: tuple[str, ...]) -> float | None:
    """The phases' summed child wall seconds, or None unless every one of them ran and succeeded."""
    if not all(n in records and records[n].status == "ok" for n in names):
        return None
    return sum(records[n].wall_seconds or 0.0 for n in names)


def postgres_note(records: dict[str, PhaseRecord]) -> str | None:
    """With --postgres: the month on PostgreSQL beside the month on DuckDB (child wall seconds), and what the
    copy of the model tables into DuckDB cost validate and export."""
    if _wall_total(records, PG_PHASES) is None:
        return None
    pg_month = _wall_total(records, PG_PHASES[1:]) or 0.0
    copies = [records[p].detail.get("copy_models_s") for p in ("pg_validate", "pg_export")]
    line = (f"  INFO  month end on PostgreSQL (build + validate + export): {pg_month:,.0f} s wall, plus "
            f"{records['pg_load'].wall_seconds or 0:,.0f} s loading the warehouse; validate and export each "
            f"copied the model tables into DuckDB first ({' s, '.join(f'{c:.0f}' for c in copies if c is not None)} s)")
    duck = _wall_total(records, MONTH_END)
    if duck is not None:
        line += f"; on DuckDB {duck:,.0f} s wall"
    return line


def cli_month_note(records: dict[str, PhaseRecord]) -> str | None:
    """`iapt-idb export` also runs export_verdict (the TOS rules again): the month end as a user runs it."""
    total = _wall_total(records, (*MONTH_END, "verdict"))
    if total is None:
        return None
    return (f"  INFO  month end through the CLI (build + validate + export, whose verdict re-runs the TOS "
            f"rules: {records['verdict'].wall_seconds:.0f} s): {total:,.0f} s wall")


def idb_month_note(records: dict[str, PhaseRecord]) -> str | None:
    """The month end with `build --no-measures`: the same marts, without the headline measures (no target)."""
    names = ("build_idb", "validate", "export")
    total = _wall_total(records, names)
    if total is None:
        return None
    peak = max(records[n].peak_mb or 0 for n in names)
    return (f"  INFO  month end with `build --no-measures` (the marts without the headline measures: "
            f"{records['build_idb'].wall_seconds:.0f} s) + validate + export: {total:,.0f} s wall, peak "
            f"{peak:,.0f} MB")


def _check(name: str, value: float | None, limit: float, op: str, unit: str) -> dict[str, Any]:
    if value is None:
        verdict = "N/A"
    else:
        passed = {"<": value < limit, "<=": value <= limit, ">=": value >= limit}[op]
        verdict = "PASS" if passed else "FAIL"
    return {"target": name, "value": value, "op": op, "limit": limit, "unit": unit, "verdict": verdict}


def format_checks(checks: list[dict[str, Any]]) -> str:
    def rounds(c: dict[str, Any]) -> str:
        ratios = c.get("rounds") or []
        return f"; rounds {', '.join(f'{r:.2f}' for r in ratios)} {c['unit']}" if len(ratios) > 1 else ""

    return "\n".join(
        f"  {c['verdict']:<5} {c['target']}: {_fmt(c['value'], ',.2f')} {c['unit']} (target {c['op']} {c['limit']:g} "
        f"{c['unit']}{rounds(c)})"
        for c in checks
    )


def format_counts(counts: dict[str, int] | None) -> str:
    if not counts:
        return "mart row counts: unknown (build did not run)"
    parts = [f"{label} {sum(counts.get(t, 0) for t in tables):,}" for label, tables in KEY_TABLES]
    return f"marts: {sum(counts.values()):,} rows in 21 tables; " + ", ".join(parts)


def warehouse_rows(records: dict[str, PhaseRecord]) -> dict[str, int]:
    """Row counts per warehouse table, from the generate record (fresh or re-used)."""
    gen = records.get("generate")
    if gen is None:
        return {}
    detail = gen.detail.get("detail", {})
    rows = detail.get("rows", {}) if isinstance(detail, dict) else {}
    return {str(k): int(v) for k, v in rows.items()}


def scale_checks(records: dict[str, PhaseRecord], counts: dict[str, int] | None) -> list[dict[str, Any]]:
    """Does this run reach the benchmark scale? N/A when the figure is unknown (phase not run)."""
    sources = {"warehouse": warehouse_rows(records), "marts": counts or {}}
    checks = []
    for what, floor, where, tables in SCALE_FLOOR:
        have = sources[where]
        value = sum(have[t] for t in tables) if have and all(t in have for t in tables) else None
        checks.append(_check(f"{what} ({where})", value, floor, ">=", "rows"))
    return checks


def format_scale(checks: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {c['verdict']:<5} {c['target']}: {_fmt(c['value'], ',.0f')} (at least {c['limit']:,.0f})" for c in checks
    )


def machine_info() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_avg_at_end": os.getloadavg(),
    }


def write_results(
    path: Path,
    args: argparse.Namespace,
    records: dict[str, PhaseRecord],
    counts: dict[str, int] | None,
    checks: list[dict[str, Any]],
    complete: bool = True,
    scale: list[dict[str, Any]] | None = None,
) -> None:
    doc = {
        "complete": complete,
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": generation_settings(args),
        "busy_processes": getattr(args, "busy", 0),
        "machine": machine_info(),
        "mart_counts": counts,
        "phases": [
            {**asdict(r), "peak_mb": r.peak_mb, "rows_per_s": r.rate, "baseline_ratio": baseline_ratio(p, records)[1]}
            for p, r in records.items()
        ],
        "targets": checks,
        "scale": scale if scale is not None else scale_checks(records, counts),
    }
    path.write_text(json.dumps(doc, indent=2, default=str))


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """count CPU-bound child processes (a busy loop each) for the duration of the block, then stopped."""
    # a benchmark killed outright takes its busy loops with it (lifeline), never leaving them spinning
    procs = [subprocess.Popen(lifeline.command(sys.executable, "-c", "while True: pass"))
             for _ in range(max(0, count))]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = Paths(args.out.resolve())
    paths.logs.mkdir(parents=True, exist_ok=True)
    child_environment(paths)
    if args.start_server:
        from ..pgserver import stop_on_sigterm, throwaway_server

        args.postgres = True
        stop_on_sigterm()  # a kill stops the server and removes its folder (the synthetic patients' copy)
        print("==> starting a throwaway PostgreSQL server ...", file=sys.stderr, flush=True)
        with throwaway_server() as server:
            os.environ.update(server.env())
            return _run_and_report(args, paths)
    return _run_and_report(args, paths)


def _run_and_report(args: argparse.Namespace, paths: Paths) -> int:
    results = paths.out / "results.json"
    load_before = os.getloadavg()

    def save(records: dict[str, PhaseRecord], counts: dict[str, int] | None) -> None:
        write_results(results, args, records, counts, check_targets(records, args.patients), complete=False)

    records, counts = run_all(args, paths, save)
    checks = check_targets(records, args.patients)
    print()
    print(f"IAPT IDB benchmark: {args.patients:,} patients, seed {args.seed}, period {args.period}"
          + (f", {args.busy} competing CPU-bound process(es) running throughout" if args.busy else ""))
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end (wall times stretch on a busy machine; 'cpu s' does not)")
    print(format_counts(counts))
    scale = scale_checks(records, counts)
    print("benchmark scale:")
    print(format_scale(scale))
    print(format_table(records))
    print("targets:")
    print(format_checks(checks))
    for note in (postgres_note(records), cli_month_note(records), idb_month_note(records), jpype_note(records),
                 fresh_jvm_note(records), gx_note(records)):
        if note:
            print(note)
    write_results(results, args, records, counts, checks, scale=scale)
    print(f"results: {results}")
    failed = any(r.status == "failed" for r in records.values()) or any(
        c["verdict"] == "FAIL" for c in [*checks, *scale]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
