"""iapt-idb generate: write a synthetic local clinical system (Lumen CMS, or Meridian EPR) as a DuckDB file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..paths import DEFAULT_WAREHOUSE
from ..periods import period_arg

DESCRIPTION = """\
Write a synthetic NHS Talking Therapies case-management system ("Lumen CMS") into a DuckDB file:
every table of the local warehouse contract (schema 'cms') plus cms.generator_defects, which lists
each data-quality defect deliberately injected (table, row key, column, kind).

The data are centred on the reporting period: about 24 months of referrals up to the period end,
and three weeks of activity after it (as if extracted then). Local codes are drawn from the mapping
seeds (source_systems/lumen_cms/mappings/map_<code_set>.csv). NHS numbers are synthetic, from the 999 test range.
The same seed, patient count, period and defect rate always give the same content.

--system meridian_epr writes the same clinical content (the same patients, pathways and injected
defects) in the shape of a second vendor's system, "Meridian EPR" (schema 'epr': patient and referral
merged into episodes, GP and accommodation as current value plus change log, questionnaires one row
per item, its own names, local codes and time formats). Its folder source_systems/meridian_epr/ holds
hand-written staging models; both systems give the same IDB and the same verdict.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("seed must not be negative")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.01, got {text!r}") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError("defect rate must be between 0 and 0.5")
    return value


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "generate", help=help_text, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", type=Path, default=DEFAULT_WAREHOUSE,
                   help=f"DuckDB file to write; replaced if it exists (default: {DEFAULT_WAREHOUSE})")
    p.add_argument("--patients", type=_positive_int, default=2000, help="number of patients (default: 2000)")
    p.add_argument("--seed", type=_seed, default=42, help="random seed; same seed, same data (default: 42)")
    p.add_argument("--defect-rate", type=_rate, default=0.01,
                   help="share of eligible rows spoiled with realistic data-quality defects, 0 for clean data (default: 0.01)")
    p.add_argument("--period", type=period_arg, default="2026-10",
                   help="reporting month YYYY-MM the data are centred on (default: 2026-10)")
    p.add_argument("--chunk-size", type=_positive_int, default=20000,
                   help="patients generated and written per batch; bounds memory, does not change the data (default: 20000)")
    p.add_argument("--system", default=None, metavar="NAME",
                   help="which synthetic system's shape to write: lumen_cms or meridian_epr (default: iapt-idb --system / "
                        "IAPT_SOURCE_SYSTEM when it names one of them, else lumen_cms)")
    p.add_argument("--quiet", action="store_true", help="no progress messages, only the summary")
    return p


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..warehouse.gen_codes import MappingSeedError
    from ..warehouse.generate import check_args, stderr_progress
    from ..warehouse.systems import CodeTranslationError, generate_system, synthetic_system

    try:
        check_args(args.patients, args.seed, args.defect_rate, args.period, args.chunk_size)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    system = synthetic_system(args.system or getattr(args, "global_system", None))
    try:
        summary = generate_system(
            system,
            out=args.out,
            patients=args.patients,
            seed=args.seed,
            defect_rate=args.defect_rate,
            period=args.period,
            chunk_size=args.chunk_size,
            progress=None if args.quiet else stderr_progress,
        )
    except (MappingSeedError, CodeTranslationError) as exc:
        raise UserError(f"{exc} (the generator draws every local code from the mapping seeds)") from None
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc}") from None
    print(summary.text())
    return 0
