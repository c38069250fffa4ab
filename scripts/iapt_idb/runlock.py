"""Who may use a file now, and scratch space that no dead run leaves behind.

Two mechanisms, both on advisory ``flock`` locks, which the kernel releases when a process dies (even by
SIGKILL), so a lock never outlives its holder and a stale one never needs to be guessed at:

``hold(path, what)``
    An exclusive lock on ``<path>.lock`` for the duration of a ``with`` block. A second process gets a
    ``UserError`` (exit 2) naming the holder's PID and the command it runs, and what to do. ``shared=True``
    takes a shared lock instead: readers share it, a writer's exclusive lock waits for none of them
    (it is refused at once, as above). ``tidy=True`` removes the lock file on release (exclusive only).
    ``held_lock_fds()`` lists the locks held, for a helper child to inherit (``pass_fds``), so they are
    held until the child is gone too.

``waiting(path)``
    An exclusive lock on ``<path>.lock`` that waits for the holder instead of refusing: for short work that
    two runs may both need to do (a validation plan's compile in the plan folder), one after the other.

``private_scratch(parent, prefix)``
    A new folder ``<parent>/<prefix><pid>.<random>`` readable only by this user, holding a lock file for
    as long as this process lives. ``sweep_stale(parent, prefix)`` removes every such folder whose lock is
    no longer held: the leftovers of runs that were killed before they could clean up. Scratch folders
    hold patient data (loaded inputs, partial files): each run sweeps before it starts and removes its own
    on every exit path that can run code (``with`` exit, SIGTERM and SIGHUP through ``exit_on_signals``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import UserError

_LOCK_NAME = ".iapt-idb.lock"
_UNLOCKED_GRACE_SECONDS = 60
_SCRATCH_NAME = re.compile(r"[0-9]+\.[A-Za-z0-9_]+")


def lock_path(path: Path) -> Path:
    """The lock file that guards ``path`` (a file or a folder): ``<path>.lock`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "unknown"


_HELD_FDS: set[int] = set()  # lock files this process holds now (see held_lock_fds)


def held_lock_fds() -> tuple[int, ...]:
    """The descriptors of every lock this process holds: pass them to a helper child (``pass_fds``) so the
    locks stay held while the child lives, even when this process is killed before it."""
    return tuple(sorted(_HELD_FDS))


def _open_locked(lp: Path, shared: bool) -> tuple[int | None, str]:
    """Open and lock ``lp`` without waiting: (descriptor, "") or, when another process holds it, (None, holder).

    A lock file that a tidy holder removed (or replaced) between our open and our lock is opened again, so
    two processes never both hold locks on different files of the same name.
    """
    for _ in range(20):
        fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            return None, holder
        try:
            same = os.fstat(fd).st_ino == os.stat(lp).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd, ""
        os.close(fd)
    raise OSError(0, "the lock file keeps being replaced")


@contextlib.contextmanager
def hold(path: Path, what: str, shared: bool = False, hint: str = "wait for it to finish, or use another path",
         tidy: bool = False) -> Iterator[None]:
    """Hold the lock guarding ``path`` (exclusive, or shared) while the block runs; refuse at once if taken.

    ``what`` names the use in the refusal ("building the marts", "writing the IDB"). The lock file stays
    (it holds no data, only the holder's PID and command), unless ``tidy`` (exclusive locks only): then
    it is removed on release, which is safe because every holder checks that the file it locked is still
    the one at that path.
    """
    lp = lock_path(path)
    try:
        lp.parent.mkdir(parents=True, exist_ok=True)
        fd, holder = _open_locked(lp, shared)
    except OSError as exc:
        raise UserError(f"cannot create the lock file {lp} ({exc.strerror}): is the folder writable?") from None
    if fd is None:
        raise UserError(f"another iapt-idb process ({holder}) is using {path}; {hint}")
    _HELD_FDS.add(fd)
    try:
        if not shared:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"PID {os.getpid()}, {what}".encode(), 0)
        yield
    finally:
        if tidy and not shared:
            with contextlib.suppress(OSError):
                lp.unlink()
        _HELD_FDS.discard(fd)
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def waiting(path: Path) -> Iterator[None]:
    """Hold the exclusive lock guarding ``path`` while the block runs, waiting for any other holder first."""
    lp = lock_path(path)
    lp.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _is_stale(folder: Path) -> bool:
    """True when no live process holds the folder's lock (its run died), or it never had one."""
    try:
        fd = os.open(folder / _LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        # a folder being made right now has no lock file for a moment: only an old one is a leftover
        try:
            return time.time() - folder.stat().st_mtime > _UNLOCKED_GRACE_SECONDS
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def sweep_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove the scratch folders ``<parent>/<prefix>*`` that no live run holds; return what was removed."""
    removed: list[Path] = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    for entry in sorted(parent.glob(prefix + "*")):
        # only folders named as private_scratch names them (<prefix><pid>.<random>): never another
        # folder that merely starts with the prefix
        if not _SCRATCH_NAME.fullmatch(entry.name[len(prefix):]):
            continue
        if entry.is_dir() and not entry.is_symlink() and _is_stale(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def private_scratch(parent: Path | None, prefix: str) -> Iterator[Path]:
    """A fresh scratch folder only this user can read, locked while this process lives, removed on exit.

    ``parent`` None means the system's temporary folder. Stale folders of dead runs with the same prefix
    are removed first.
    """
    base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    sweep_stale(base, prefix)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}.", dir=base))
    os.chmod(folder, 0o700)
    fd = os.open(folder / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _HELD_FDS.add(fd)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _HELD_FDS.discard(fd)
        os.close(fd)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds every `with`/`finally`, so scratch and partial files go


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind the main thread like an exception, so clean-up code runs.

    Use it around a whole command; it is a no-op outside the main thread.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _exit_on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sys.stderr.flush()
