"""The iapt-idb command line: one entry point, one sub-command per job.

Each sub-command lives in ``iapt_idb.commands.<name>`` and provides
``add_parser(subparsers)`` (which registers it) and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_UNUSABLE, InternalError, UserError

# (module, one-line help) in the order a user meets them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("generate", "write a synthetic local clinical-system warehouse (DuckDB)"),
    ("load_warehouse", "copy a DuckDB warehouse into PostgreSQL, for the postgres dbt target"),
    ("build", "build the 21 IDB marts for one reporting period with dbt"),
    ("validate", "predict the national platform's verdict: TOS rules, rule codes, cascade"),
    ("export", "write the marts into an IAPT v2.1 IDB (.accdb)"),
    ("verify", "check an exported .accdb (and its excluded list) against the manifest beside it"),
    ("diff", "compare two recorded submissions: rows, rule failures and headline measures"),
    ("structure", "print an .accdb's structure, fingerprint and differences from the spec"),
    ("measures", "print the month's headline NHS Talking Therapies measures"),
    ("docs", "build the offline data-quality docs site"),
    ("demo", "the whole job on the synthetic warehouse: generate, build, validate, export, docs"),
    ("source", "connect your own clinical system: scaffold its folder, check it against the staging contract"),
)

DESCRIPTION = """\
Build, check and export the NHS Talking Therapies (IAPT v2.1) Intermediate Database.

Typical month:
  iapt-idb build --period 2026-10                 # dbt: local warehouse -> 21 IDB marts
  iapt-idb validate --period 2026-10 --report output/2026-10/validation
  iapt-idb export --period 2026-10 --out output/2026-10/IDB_2026-10.accdb
  iapt-idb docs --period 2026-10 --out output/2026-10/site

Run 'iapt-idb COMMAND --help' for the options of one command.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iapt-idb", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"iapt-idb {__version__}")
    parser.add_argument(
        "--system", dest="global_system", metavar="NAME", default=None,
        help="source system: the folder source_systems/NAME (or under IAPT_SOURCE_SYSTEMS_DIR) that dbt builds from; "
        "default IAPT_SOURCE_SYSTEM, else lumen_cms (the synthetic Lumen CMS)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS:
        try:
            module = importlib.import_module(f"iapt_idb.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"iapt_idb.commands.{name}":
                raise
            continue
        p = module.add_parser(sub, help_text)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.global_system:
        # Every dbt run of this command (and its children) reads it: dbt_project.yml, var source_system.
        import os

        os.environ["IAPT_SOURCE_SYSTEM"] = args.global_system
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_UNUSABLE
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"iapt-idb {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except InternalError as exc:  # described without input values, so its message is shown
        print(f"iapt-idb {args.command}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print(f"iapt-idb {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into a command that stopped reading (e.g. `| head`): not an error.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug is never a verdict
        return _internal_error(args.command, exc)


def _internal_error(command: str, exc: BaseException) -> int:
    """Say that iapt-idb itself failed, where, and what to do; exit EXIT_INTERNAL (never 1, a verdict).

    The exception's text is not printed: it may quote input values (a database error quoting a row). Set
    IAPT_IDB_DEBUG=1 to see the full traceback, on synthetic data only.
    """
    import os
    import traceback

    if os.environ.get("IAPT_IDB_DEBUG", "").strip() in ("1", "true", "yes"):
        traceback.print_exception(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    print(
        f"iapt-idb {command}: internal error ({type(exc).__name__}{where}); this is a bug in iapt-idb, not a "
        "verdict on the data. Its text is not shown because it may quote patient data; re-run with "
        "IAPT_IDB_DEBUG=1 on synthetic data to see it, and report it.",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
