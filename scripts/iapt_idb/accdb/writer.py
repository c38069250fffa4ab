"""Export the 21 IDB marts into an IAPT v2.1 IDB (.accdb), atomically, with a manifest beside it.

    export_idb(target_db, out, period, template=None, rows_sql=None) -> manifest dict

The work runs in a spawned child process that hosts the JVM (Jackcess 4.0.10, writer classpath):
it checks every row (text sizes, integer ranges, dates Access can hold) while it writes a partial file
in a private scratch folder beside ``out`` (``.<name>.export-<pid>.<random>/``), which is removed when
any check fails, on Ctrl-C, SIGTERM and SIGHUP, and by the next export when this one was killed outright.
Only one export writes to ``out`` at a time (``<name>.lock``; a second one is refused, exit 2).

The manifest is the commit marker of the output set (.accdb, manifest, excluded list): the old manifest
is removed first, the new .accdb and excluded list are renamed into place, and the new manifest, which
holds the SHA-256 of both, is written last. ``verify_export`` checks a file against the manifest beside
it, so a set that a kill left half replaced is never taken for a good one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import __version__, runlock
from ..testhooks import pause_at
from ..paths import IDB_SCHEMA_CSV
from ..periods import parse_period
from ..spec import load_tables
from . import jars, source
from .child import environment_problem, run_child
from .errors import AccdbError, require_template
from .physical import ace_version

SPEC_STRUCTURE_NOTE = "structure from spec, not the official template"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".manifest.json")


def excluded_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".excluded.csv")


def _excluded_counts(excluded: list[dict[str, Any]]) -> dict[str, int]:
    rows: dict[str, set[int]] = {}
    for e in excluded:
        rows.setdefault(str(e["table"]), set()).add(int(e["row"]))
    return {t: len(r) for t, r in sorted(rows.items())}


def _write_excluded(path: Path, excluded: list[dict[str, Any]]) -> None:
    import csv

    from .rule_codes import rule_code_for

    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["table", "row", "record_key", "column", "rule_code", "reason"],
                           lineterminator="\n")
        w.writeheader()
        for e in excluded:
            w.writerow({**e, "rule_code": rule_code_for(str(e["table"]), str(e["column"]), str(e["reason"]))})


def scratch_prefix(out: Path) -> str:
    """The name prefix of an export's scratch folders beside ``out`` (found and swept by the next export)."""
    return f".{Path(out).name}.export-"


def check_output(out: Path) -> None:
    """Refuse an --out that cannot be written as an .accdb, before anything runs (exit 2, what to do)."""
    out = Path(out)
    if out.is_dir():
        raise AccdbError(f"--out {out} is a folder; give the path of the .accdb file to write, e.g. {out / 'IDB.accdb'}")
    if out.suffix.lower() != ".accdb":
        raise AccdbError(f"the output file {out} must end in .accdb (the IDB is an Access 2007+ database)")
    if not out.parent.is_dir():
        raise AccdbError(f"the output folder {out.parent} does not exist; create it first (mkdir -p {out.parent})")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise AccdbError(f"the output folder {out.parent} cannot be written (read-only or no permission); "
                         "choose a writable folder for --out")


def export_lock(out: Path) -> contextlib.AbstractContextManager[None]:
    """The exclusive lock of an export to ``out``: a second export to the same file is refused at once."""
    return runlock.hold(Path(out), f"iapt-idb export to {Path(out).name}", tidy=True,
                        hint="wait for that export to finish, or write to another --out")


def _sweep_stale(out: Path) -> None:
    """Remove what killed exports to ``out`` left: scratch folders nobody holds, old-style partial files."""
    runlock.sweep_stale(out.parent, scratch_prefix(out))
    for name in (out.name, manifest_path(out).name, excluded_path(out).name):
        for p in out.parent.glob(f".{name}.*.partial"):
            pid = p.name[len(name) + 2:-len(".partial")]
            if pid.isdigit() and not _alive(int(pid)):
                p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path: Path, directory: bool = False) -> None:
    """Flush a file (or, best effort, a folder's entries: not every file system can) to disk."""
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def verify_export(accdb: Path) -> tuple[bool, str]:
    """Check ``accdb`` and its excluded list against the manifest beside it: (ok, one line saying why).

    Not ok when the manifest is missing (the export never finished, or a kill stopped it while it
    replaced the files), unreadable, for another file, or when a checksum or size differs.
    """
    accdb = Path(accdb)
    if not accdb.is_file():
        return False, f"{accdb}: no such file"
    mpath = manifest_path(accdb)
    if not mpath.is_file():
        return False, (f"{accdb}: manifest missing ({mpath.name}); the export did not finish, "
                       "so this is not a verified IDB: export it again")
    try:
        m = json.loads(mpath.read_text(encoding="utf-8"))
        name, sha, size = m["file"], m["sha256"], m["bytes"]
        xname = m.get("excluded_file")
    except (OSError, ValueError, KeyError, TypeError):
        return False, f"{accdb}: manifest {mpath.name} cannot be read; export it again"
    problems = []
    if name != accdb.name:
        problems.append(f"the manifest is for {name}")
    if accdb.stat().st_size != size or sha256_file(accdb) != sha:
        problems.append("the file's size or SHA-256 differs from the manifest's")
    xpath = excluded_path(accdb)
    if xname:
        if xname != xpath.name or not xpath.is_file():
            problems.append(f"the excluded list {xpath.name} is missing")
        elif sha256_file(xpath) != m.get("excluded_sha256"):
            problems.append(f"the excluded list {xpath.name} differs from the manifest's")
    elif xpath.exists():
        problems.append(f"{xpath.name} lies beside it but the manifest lists no excluded records")
    if problems:
        return False, f"{accdb}: does not match its manifest ({'; '.join(problems)}); export it again"
    return True, f"{accdb}: manifest OK ({m.get('total_rows', '?')} rows, sha256 {sha})"


def check_header_period(target_db: Path, period: str, header_sql: str | None = None) -> None:
    """Refuse unless the one IDS000Header row's ReportingPeriodStartDate is the first day of ``period``."""
    header_sql = header_sql or source.default_rows_sql("IDS000Header")
    start, _ = parse_period(period)
    con = source.connect(target_db)
    try:
        try:
            rows = con.execute(
                f"SELECT CAST(ReportingPeriodStartDate AS VARCHAR) FROM ({header_sql}) AS src"
            ).fetchall()
        except Exception as exc:  # duckdb.Error: missing table or column
            raise AccdbError(f"IDS000Header: cannot read ReportingPeriodStartDate from the target DB {target_db}: "
                             f"{str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    if len(rows) != 1:
        raise AccdbError(
            f"IDS000Header in {target_db} has {len(rows)} rows; an IDB has exactly one header row. "
            f"Rebuild the marts for {period} (iapt-idb build --period {period})."
        )
    got = (rows[0][0] or "")[:10]
    if got != start.isoformat():
        raise AccdbError(
            f"IDS000Header.ReportingPeriodStartDate (row 0) is {got or 'empty'}, but --period {period} starts on "
            f"{start.isoformat()}. Export the period the marts were built for, or rebuild them with "
            f"iapt-idb build --period {period}."
        )


def export_idb(
    target_db: Path,
    out: Path,
    period: str,
    template: Path | None = None,
    rows_sql: Callable[[str], str] | None = None,
    progress: bool = True,
    skip_unstorable: bool = False,
    locked: bool = False,
) -> dict[str, Any]:
    """Write the marts of ``target_db`` into ``out`` (.accdb); return the manifest (also written beside it).

    By default any value the IDB cannot store (text longer than its column, an integer out of range)
    stops the export before a file exists. With ``skip_unstorable`` those rows are left out instead and
    listed, with table, row, local key, column and reason, in ``<name>.excluded.csv`` beside the file.
    ``locked`` says the caller already holds ``export_lock(out)``.
    """
    target_db, out = Path(target_db), Path(out)
    parse_period(period)
    check_output(out)
    if template is not None:
        template = require_template(template)
        if template.resolve() == out.resolve():
            raise AccdbError("the template and the output must be different files")
    jars.jvm_classpath(jars.WRITER)  # fail early, in the parent, when a jar is missing or tampered with

    select = rows_sql or source.default_rows_sql
    sources = {t.name: select(t.name) for t in load_tables()}
    check_header_period(target_db, period, sources["IDS000Header"])

    if progress:
        print(f"export: {target_db} -> {out} (period {period})", file=sys.stderr, flush=True)
    with runlock.exit_on_signals(), (contextlib.nullcontext() if locked else export_lock(out)):
        _sweep_stale(out)
        try:
            with runlock.private_scratch(out.parent, scratch_prefix(out)) as scratch:
                manifest, result = _export_in(scratch, target_db, out, period, template, rows_sql, sources,
                                              progress, skip_unstorable)
        except OSError as exc:
            problem = environment_problem(exc)
            if problem is None:
                raise
            raise AccdbError(f"cannot write {out}: {problem}") from None
    if progress:
        print(f"export: wrote {out} ({manifest['total_rows']:,} rows, {result['ace']}, "
              f"{result['write_seconds']:.1f} s writing) and {manifest_path(out).name}", file=sys.stderr, flush=True)
    return manifest


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back while the output set is replaced, so only SIGKILL can split it;
    a signal that came meanwhile is raised again afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: pending.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in pending:
            signal.raise_signal(s)


def _export_in(scratch: Path, target_db: Path, out: Path, period: str, template: Path | None,
               rows_sql: Callable[[str], str] | None, sources: dict[str, str], progress: bool,
               skip_unstorable: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the set into ``scratch``, then put it in place beside ``out`` (manifest last)."""
    start, end = parse_period(period)
    tmp = scratch / f"{out.name}.partial"
    mtmp = scratch / f"{manifest_path(out).name}.partial"
    xtmp = scratch / f"{excluded_path(out).name}.partial"
    result = run_child(
        "write",
        {"target_db": str(target_db), "tmp": str(tmp), "template": str(template) if template else None,
         "sources": sources, "progress": progress, "skip_unstorable": skip_unstorable},
        cleanup=[tmp],
        workdir=scratch,
    )
    excluded = result.get("excluded") or []
    if excluded:
        _write_excluded(xtmp, excluded)
        _fsync(xtmp)
    manifest = {
        "file": out.name,
        "sha256": sha256_file(tmp),
        "bytes": tmp.stat().st_size,
        "period": period,
        "reporting_period_start": start.isoformat(),
        "reporting_period_end": end.isoformat(),
        "tables": result["counts"],
        "total_rows": sum(result["counts"].values()),
        "rows_selected": "all rows of each mart" if rows_sql is None else "a caller-supplied SELECT per table",
        "rows_left_out_unstorable": _excluded_counts(excluded),
        "excluded_file": excluded_path(out).name if excluded else None,
        "excluded_sha256": sha256_file(xtmp) if excluded else None,
        "file_format": {"jackcess": result["file_format"], "access_version": result["ace"]},
        "structure": (
            {"source": "template", "template_file": template.name, "template_sha256": sha256_file(template),
             "template_format": result["file_format"], "template_access_version": ace_version(template)}
            if template else {"source": SPEC_STRUCTURE_NOTE}
        ),
        "spec": {"idb_schema_csv_sha256": sha256_file(IDB_SCHEMA_CSV)},
        "writer": {
            "iapt_idb": __version__,
            "jars": jars.versions(jars.WRITER),
            "jar_sha256": jars.pins(jars.WRITER),
        },
    }
    mtmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _fsync(mtmp)
    replaced = False
    try:
        with _signals_deferred():
            manifest_path(out).unlink(missing_ok=True)  # from here until the new one is written: no verified set
            _fsync(out.parent, directory=True)
            os.replace(tmp, out)
            replaced = True
            if excluded:
                os.replace(xtmp, excluded_path(out))
            else:
                excluded_path(out).unlink(missing_ok=True)
            pause_at("between-renames")
            os.replace(mtmp, manifest_path(out))
            _fsync(out.parent, directory=True)
    except BaseException:
        if replaced and not manifest_path(out).exists():
            for p in (out, excluded_path(out)):
                p.unlink(missing_ok=True)  # never leave a file without its manifest
        raise
    return manifest, result
