"""Write the synthetic local clinical system ("Lumen CMS") into a DuckDB file.

Patients are generated in blocks of ``BLOCK`` people, each from its own random stream
(``SeedSequence(seed, spawn_key=(stream, block))``) and with surrogate keys from running counters,
so the content depends only on the seed, the patient count, the period and the defect rate - not on
``chunk_size``, which only sets how many patients are written to DuckDB at a time.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ..paths import MAPPING_SEEDS_DIR
from ..periods import parse_period
from . import schema
from .gen_codes import load_code_sets
from .gen_context import Context, Dates
from .gen_defects import inject
from .gen_frame import Rows, n_rows, to_arrow
from .gen_pathway import generate_pathways
from .gen_scores import THRESHOLDS_CSV
from .gen_people import generate_people
from .gen_staff import generate_staff, staff_count

BLOCK = 1000
DUCKDB_MEMORY_LIMIT = "768MB"
STREAM_STAFF, STREAM_DATA, STREAM_DEFECTS, STREAM_NHS = 0, 1, 2, 3
PEOPLE_KEYED = ("patient_address", "gp_registration", "accommodation_history", "patient_disability",
                "social_circumstance", "overseas_visitor_status", "past_diagnosis", "care_cluster_assignment")


@dataclass
class GenerationSummary:
    out: Path
    patients: int
    seed: int
    period: str
    defect_rate: float
    rows: dict[str, int] = field(default_factory=dict)
    defects: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    system: str = "lumen_cms"  # the source system whose shape was written (warehouse/systems)

    def text(self) -> str:
        shape = "" if self.system == "lumen_cms" else f"{self.system}: "
        lines = [f"wrote {self.out} ({shape}{self.patients} patients, seed {self.seed}, period {self.period}, "
                 f"defect rate {self.defect_rate}) in {self.seconds:.1f}s"]
        lines += [f"  {name:<26} {count:>10,}" for name, count in self.rows.items()]
        total = sum(self.defects.values())
        lines.append(f"  defects injected: {total:,}" + ("" if not total else " (" + ", ".join(
            f"{k} {v:,}" for k, v in sorted(self.defects.items())) + ")"))
        return "\n".join(lines)


def generator_fingerprint(mapping_dir: Path = MAPPING_SEEDS_DIR) -> str:
    """SHA-256 of what decides the generated content besides the settings: this package's code (with its
    sub-packages), the mapping seeds and the ADSM thresholds the scores are anchored to. A warehouse kept for
    re-use is stale once any of them changes."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(here.rglob("*.py")) + sorted(Path(mapping_dir).glob("*.csv")) + [THRESHOLDS_CSV]:
        name = path.relative_to(here).as_posix() if path.is_relative_to(here) else path.name
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _stream(seed: int, stream: int, block: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, block)))


def check_args(patients: int, seed: int, defect_rate: float, period: str, chunk_size: int) -> None:
    if patients < 1:
        raise ValueError("patients must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if not 0.0 <= defect_rate <= 0.5:
        raise ValueError("defect rate must be between 0 and 0.5")
    if chunk_size < 1:
        raise ValueError("chunk size must be at least 1")
    parse_period(period)


class _Writer:
    """Creates the schema and appends Arrow batches to each table."""

    def __init__(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        for p in (out, out.with_name(out.name + ".wal")):
            if p.exists():
                p.unlink()
        self.con = duckdb.connect(str(out))
        self.con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")  # keeps peak RSS flat at any scale
        self.con.execute(f"CREATE SCHEMA {schema.SCHEMA}")
        for t in schema.TABLES + (schema.DEFECT_LOG_TABLE,):
            self.con.execute(schema.ddl(t))
        self.pending: dict[str, list[pa.Table]] = {}
        self.counts: dict[str, int] = {t.name: 0 for t in schema.TABLES}

    def add(self, table: schema.Table, rows: Rows) -> None:
        if not rows or not n_rows(rows):
            return
        self.pending.setdefault(table.name, []).append(to_arrow(rows, [c.name for c in table.columns]))

    def flush(self) -> None:
        for t in schema.TABLES + (schema.DEFECT_LOG_TABLE,):
            parts = self.pending.pop(t.name, None)
            if not parts:
                continue
            batch = pa.concat_tables(parts)
            self.con.register("_batch", batch)
            cols = ", ".join(f"CAST({c.name} AS {c.type})" for c in t.columns)
            self.con.execute(f"INSERT INTO {schema.SCHEMA}.{t.name} SELECT {cols} FROM _batch")
            self.con.unregister("_batch")
            if t.name in self.counts:
                self.counts[t.name] += batch.num_rows

    def close(self) -> None:
        self.con.execute("CHECKPOINT")
        self.con.close()


def generate_warehouse(
    out: Path,
    patients: int,
    seed: int,
    defect_rate: float = 0.0,
    period: str = "2026-10",
    chunk_size: int = 20000,
    progress: Callable[[str], None] | None = None,
    mapping_dir: Path = MAPPING_SEEDS_DIR,
) -> GenerationSummary:
    """Write a synthetic CMS warehouse to ``out`` (replaced if it exists) and summarise it."""
    check_args(patients, seed, defect_rate, period, chunk_size)
    began = time.perf_counter()
    codes = load_code_sets(mapping_dir)
    dates = Dates.for_period(period)
    n_staff = staff_count(patients)
    staff = generate_staff(_stream(seed, STREAM_STAFF), n_staff, codes["qualification"], dates.extract)
    nhs_offset = int(_stream(seed, STREAM_NHS).integers(0, 2**31))
    ctx = Context(dates, codes, n_staff, nhs_offset)
    summary = GenerationSummary(Path(out), patients, seed, period, defect_rate)

    writer = _Writer(Path(out))
    try:
        staff_rows = staff.rows
        staff_rows["staff_qualification"]["staff_qualification_id"] = ctx.counters.take("staff_qualification", n_rows(staff_rows["staff_qualification"]))
        for name, rows in staff_rows.items():
            writer.add(schema.table(name), rows)
        per_write = max(BLOCK, (chunk_size // BLOCK) * BLOCK)
        written = 0
        for block, start in enumerate(range(0, patients, BLOCK)):
            g = np.arange(start, min(start + BLOCK, patients), dtype=np.int64)
            tables = _block(seed, block, g, staff, ctx, defect_rate, summary)
            for t in schema.TABLES + (schema.DEFECT_LOG_TABLE,):
                if t.name in tables:
                    writer.add(t, tables[t.name])
            done = start + len(g)
            if done - written >= per_write or done == patients:
                writer.flush()
                written = done
                if progress:
                    progress(f"generate: {done:,}/{patients:,} patients written ({time.perf_counter() - began:.0f}s)")
        writer.close()
    except BaseException:
        writer.con.close()
        raise
    summary.rows = dict(writer.counts)
    summary.seconds = time.perf_counter() - began
    return summary


def _block(seed: int, block: int, g: np.ndarray, staff, ctx: Context, defect_rate: float,
           summary: GenerationSummary) -> dict[str, Rows]:
    rng = _stream(seed, STREAM_DATA, block)
    tables, people = generate_people(rng, g, ctx)
    for name in PEOPLE_KEYED:
        if name in tables:
            key = schema.table(name).key[0]
            tables[name] = {key: ctx.counters.take(name, n_rows(tables[name]) if tables[name] else 0), **tables[name]}
    tables.update(generate_pathways(rng, people, staff, ctx))
    log = inject(_stream(seed, STREAM_DEFECTS, block), tables, ctx, defect_rate)
    for kind in log["defect_kind"]:
        summary.defects[kind] = summary.defects.get(kind, 0) + 1
    tables[schema.DEFECT_LOG_TABLE.name] = log if len(log["defect_kind"]) else {}
    return tables


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
