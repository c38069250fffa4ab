"""Where submission records live, how one is written (whole or not at all), and how one is found and checked.

Layout of the history folder (default ``output/submissions/``, ``$IAPT_IDB_SUBMISSIONS`` or ``--submissions``)::

    <period>/primary/            the month's first export
    <period>/refresh-<n>/        the n-th later export of the same month whose IDB differs from the one before
        record.json              period, kind, refresh number, the IDB's SHA-256, the SHA-256 of every file below
        idb/<name>.accdb         the exported IDB (patient data), its manifest and excluded list
        validation/summary.json, validation/validation_report.csv   the predicted verdict and every rule failure
        measures.json            the headline measures
        rows/<IDB table>.csv     record key and SHA-256 of every exported row (no patient value)

A record is written in a private (0700) scratch folder inside the history folder, every file flushed to
disk, then renamed into place: a kill leaves the whole record or none. The scratch folder holds patient
data (the IDB copy); it is removed on every exit that can run code and swept by the next record when a
kill left it. ``record.json`` holds ``recorded_at``, the only time in a record; nothing compares it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import runlock
from ..errors import UserError
from ..paths import OUTPUT_DIR
from ..periods import parse_period
from ..testhooks import pause_at

ENV = "IAPT_IDB_SUBMISSIONS"
DEFAULT_DIR = OUTPUT_DIR / "submissions"
RECORD_FILE = "record.json"
SCRATCH_PREFIX = ".incoming-"
PRIMARY = "primary"
_REFRESH = re.compile(r"refresh-([1-9][0-9]*)")
_LABEL = re.compile(r"([0-9]{4}-[0-9]{2})(?:#([0-9]+|latest))?")


def submissions_dir(given: Path | None = None) -> Path:
    """The history folder: ``given``, else $IAPT_IDB_SUBMISSIONS, else output/submissions in the project."""
    if given is not None:
        return Path(given)
    env = os.environ.get(ENV)
    return Path(env) if env else DEFAULT_DIR


def folder_name(refresh: int) -> str:
    return PRIMARY if refresh == 0 else f"refresh-{refresh}"


def label(period: str, refresh: int) -> str:
    """How a user names a submission: ``2026-10`` (primary), ``2026-10#2`` (second refresh)."""
    return period if refresh == 0 else f"{period}#{refresh}"


def _refresh_of(name: str) -> int | None:
    if name == PRIMARY:
        return 0
    m = _REFRESH.fullmatch(name)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Record:
    path: Path
    period: str
    refresh: int
    meta: dict[str, Any]

    @property
    def label(self) -> str:
        return label(self.period, self.refresh)

    @property
    def kind(self) -> str:
        return PRIMARY if self.refresh == 0 else "refresh"

    def read_json(self, rel: str) -> Any:
        return json.loads((self.path / rel).read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    from ..accdb.writer import sha256_file

    return sha256_file(path)


def _damaged(path: Path, why: str) -> UserError:
    return UserError(f"the submission record {path} is damaged ({why}); remove that folder and export the month "
                     "again to record it anew")


def load(path: Path, check: bool = True) -> Record:
    """The record in ``path``; with ``check``, every file's SHA-256 is compared with record.json's."""
    path = Path(path)
    try:
        meta = json.loads((path / RECORD_FILE).read_text(encoding="utf-8"))
        period, refresh, files = str(meta["period"]), int(meta["refresh"]), dict(meta["files"])
        parse_period(period)
    except FileNotFoundError:
        raise UserError(f"{path} is not a submission record (no {RECORD_FILE}); give a period such as 2026-10, "
                        "2026-10#1, or the folder of a record") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise _damaged(path, f"{RECORD_FILE} cannot be read") from None
    if check:
        for rel, sha in sorted(files.items()):
            f = path / rel
            if not f.is_file():
                raise _damaged(path, f"{rel} is missing")
            if _sha256(f) != sha:
                raise _damaged(path, f"{rel} differs from {RECORD_FILE}")
    return Record(path, period, refresh, meta)


def records(root: Path, period: str | None = None) -> list[Record]:
    """The records under ``root`` (of ``period``, or all), by period then refresh number; not checked."""
    out: list[Record] = []
    if not root.is_dir():
        return out
    for pdir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if period is not None and pdir.name != period:
            continue
        for rdir in pdir.iterdir():
            n = _refresh_of(rdir.name)
            if n is None or not (rdir / RECORD_FILE).is_file():
                continue
            try:
                out.append(load(rdir, check=False))
            except UserError:
                continue  # a damaged record is reported when it is asked for by name
    return sorted(out, key=lambda r: (r.period, r.refresh))


def resolve(spec: str, root: Path) -> Record:
    """A submission named as ``2026-10`` (primary), ``2026-10#N`` (refresh N), ``2026-10#latest``, or a record
    folder; checked against its record.json. Unknown or damaged: UserError (exit 2) saying what to do."""
    m = _LABEL.fullmatch(spec)
    if not m and Path(spec).is_dir():
        return load(Path(spec))
    if not m:
        raise UserError(f"{spec!r} names no submission: give a period (2026-10 = its primary submission), "
                        "a refresh (2026-10#1, 2026-10#latest), or the folder of a record")
    period, which = m.group(1), m.group(2)
    mine = records(root, period)
    if which == "latest" and mine:
        return load(mine[-1].path)
    n = 0 if which is None else (int(which) if which != "latest" else -1)
    for r in mine:
        if r.refresh == n:
            return load(r.path)
    known = ", ".join(r.label for r in records(root)) or "none"
    raise UserError(f"no submission {spec} in {root} (recorded: {known}); 'iapt-idb export' records one, "
                    f"or give the history folder with --submissions")


@dataclass(frozen=True)
class Recorded:
    record: Record | None  # None: not recorded, the IDB is byte-identical to ``same_as``'s
    same_as: str | None = None


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    except OSError:
        if not directory:  # not every file system can flush a folder's entries
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def _history_lock(root: Path, seconds: float = 120) -> Iterator[None]:
    """The history folder's lock; a record being written by another export is waited for (it is short)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            lock = runlock.hold(root, "recording a submission", tidy=True,
                                hint="wait for it to finish (each export records its IDB there), then export again")
            lock.__enter__()
        except UserError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        break
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def check_writable(root: Path) -> None:
    """Refuse (UserError, exit 2) a history folder that cannot be created or written, before an export writes
    its IDB: so that exit 2 from `export` always means nothing was written."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = root / f".write-probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"the submission history folder {root} cannot be written ({exc.strerror}); choose a "
                        f"writable one with --submissions or ${ENV}, or pass --no-record") from None


def record_submission(root: Path, period: str, idb: Path, fill: Callable[[Path], None],
                      export_options: dict[str, Any]) -> Recorded:
    """Record the exported ``idb`` (with the manifest beside it) as ``period``'s next submission.

    ``fill(folder)`` writes validation/, measures.json and rows/ into the new record's folder. The first
    record of a period is its primary; later ones are refreshes 1, 2, ... An IDB byte-identical to the
    period's latest record is not recorded again (``Recorded(None, same_as=<label>)``).
    """
    from ..accdb.writer import excluded_path, manifest_path, verify_export

    ok, why = verify_export(idb)
    if not ok:
        raise UserError(f"not recorded in the submission history: {why}")
    manifest = json.loads(manifest_path(idb).read_text(encoding="utf-8"))
    if manifest.get("period") != period:
        raise UserError(f"not recorded in the submission history: {idb.name} holds {manifest.get('period')}, "
                        f"not {period}")
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise UserError(f"cannot create the submission history folder {root} ({exc.strerror}); choose a writable "
                        f"one with --submissions or ${ENV}") from None
    with _history_lock(root):
        mine = records(root, period)
        if mine and mine[-1].meta.get("idb_sha256") == manifest["sha256"]:
            return Recorded(None, same_as=mine[-1].label)
        # the next number after every folder of the month, readable or not (a damaged one is never replaced)
        taken = [_refresh_of(d.name) for d in (root / period).iterdir()] if (root / period).is_dir() else []
        n = max((t for t in taken if t is not None), default=-1) + 1
        with runlock.private_scratch(root, SCRATCH_PREFIX) as scratch:
            rec = scratch / "record"
            rec.mkdir(mode=0o700)
            (rec / "idb").mkdir()
            for src in (idb, manifest_path(idb), excluded_path(idb)):
                if src.is_file():
                    shutil.copyfile(src, rec / "idb" / src.name)
            fill(rec)
            files = {p.relative_to(rec).as_posix(): _sha256(p) for p in sorted(rec.rglob("*")) if p.is_file()}
            meta = {
                "period": period,
                "kind": PRIMARY if n == 0 else "refresh",
                "refresh": n,
                "label": label(period, n),
                "idb_file": f"idb/{idb.name}",
                "idb_sha256": manifest["sha256"],
                "total_rows": manifest["total_rows"],
                "export": export_options,
                "files": files,
                "recorded_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            }
            (rec / RECORD_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            for p in sorted(rec.rglob("*"), reverse=True):
                _fsync(p, directory=p.is_dir())
            _fsync(rec, directory=True)
            pause_at("history-staged")
            pdir = root / period
            pdir.mkdir(exist_ok=True, mode=0o700)
            final = pdir / folder_name(n)
            os.rename(rec, final)  # the commit: the whole record appears at once
            _fsync(pdir, directory=True)
            _fsync(root, directory=True)
    return Recorded(load(final, check=False))
