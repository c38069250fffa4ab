"""A throwaway PostgreSQL server on this machine, for the tests and the benchmark (``bench --start-server``).

    throwaway_server(password=None) -> context manager yielding a PgServer; the server is stopped and its
                                       data folder (synthetic patient data) removed on exit, on Ctrl-C and on
                                       SIGTERM (the caller installs ``stop_on_sigterm``)
    PgServer.env(schema)            -> the IAPT_* variables that point the postgres target at it
    remove_orphans()                -> stop and remove the servers of processes that were killed (SIGKILL)
    SERVER_SETTINGS                 -> the server settings the month's build is measured with

initdb + pg_ctl of Debian's binaries (/usr/lib/postgresql/<version>/bin, or $IAPT_PG_BINDIR) on a fresh
folder under the temp directory, listening on 127.0.0.1 at a free port, with a password-protected superuser
and database ``iapt``. PostgreSQL refuses to run as root: as root the server runs as the unprivileged system
user ``postgres`` (created with useradd when missing), which owns the folder. The password is never printed;
when none is given it is a fresh random one. Problems are UserErrors (exit 2) saying what to do.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError

PG_USER = "iapt_tester"
PG_DBNAME = "iapt"
SERVER_USER = "postgres"
_PREFIX = "iapt_pgserver_"

# A throwaway server that holds a copy of the warehouse: durability is not wanted (fsync off), and the
# month's build is a handful of large joins and sorts per model, one session per dbt thread. jit off: the
# build's statements are many and short-lived, and JIT compilation cost more than it saved on them.
SERVER_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "shared_buffers": "256MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    "effective_cache_size": "1GB",
    "jit": "off",
    "max_wal_size": "4GB",
}


def pg_bindir() -> Path:
    """The folder of initdb and pg_ctl: $IAPT_PG_BINDIR, else Debian's newest /usr/lib/postgresql/*/bin."""
    given = os.environ.get("IAPT_PG_BINDIR")
    if given:
        return Path(given)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise UserError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): install Debian's "
                        "'postgresql' package (make system-deps) or set IAPT_PG_BINDIR")
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str
    datadir: Path

    def env(self, schema: str = "iapt_idb") -> dict[str, str]:
        """The IAPT_* variables that point the postgres target at this server."""
        return {
            "IAPT_DBT_TARGET": "postgres",
            "IAPT_PG_HOST": self.host,
            "IAPT_PG_PORT": str(self.port),
            "IAPT_PG_USER": self.user,
            "IAPT_PG_PASSWORD": self.password,
            "IAPT_PG_DBNAME": self.dbname,
            "IAPT_PG_SCHEMA": schema,
        }

    def connect(self, dbname: str | None = None) -> Any:
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=dbname or self.dbname, connect_timeout=5)


def _as_server_user() -> list[str]:
    """The command prefix that runs a server binary unprivileged ([] when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                       check=True, capture_output=True)
    return ["runuser", "-u", SERVER_USER, "--"]


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    """Run a server tool in a process group of its own. Interrupted (Ctrl-C, SIGTERM, a timeout), the whole
    group is killed: killing only the first process (``runuser`` as root) left its child, e.g. initdb and its
    bootstrap backend, writing into the data folder while it was being removed."""
    proc = subprocess.Popen(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=180)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    if proc.returncode != 0:
        lines = (err or out or "").strip().splitlines()
        said = f": {lines[-1]}" if lines else ""
        where = f"; server log {log}" if log else ""
        raise UserError(f"the throwaway PostgreSQL server: {what} failed (exit {proc.returncode}){said}{where}")


def _stop(bindir: Path, datadir: Path, prefix: list[str], mode: str = "fast") -> None:
    if (datadir / "postmaster.pid").exists():
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", mode, "-w", "stop"],
                       capture_output=True, timeout=120, start_new_session=True)


def remove_orphans() -> None:
    """Servers whose starting process was killed outright (SIGKILL) hold synthetic patient data: stopped and
    removed here, on the next start."""
    for base in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*_*"):
        pid_text = base.name[len(_PREFIX):].split("_", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # its owner is alive
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        with contextlib.suppress(Exception):
            _stop(pg_bindir(), base / "data", _as_server_user(), mode="immediate")
        _remove(base)


def stop_on_sigterm() -> None:
    """Turn SIGTERM (kill) into KeyboardInterrupt, so that ``throwaway_server``'s exit stops the server."""
    def _raise(signum: int, frame: Any) -> None:  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)


@contextlib.contextmanager
def throwaway_server(password: str | None = None, user: str = PG_USER, dbname: str = PG_DBNAME,
                     settings: dict[str, str] | None = None) -> Iterator[PgServer]:
    """Start a server on a fresh folder; stop it and remove the folder on exit (also on an exception)."""
    bindir = pg_bindir()
    remove_orphans()
    prefix = _as_server_user()
    password = password or secrets.token_urlsafe(24)
    # Not under a private (root-only) temp folder: the server user must reach its folder.
    base = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}_"))
    datadir, sockets, pwfile, log = base / "data", base / "sock", base / "pwfile", base / "server.log"
    try:
        sockets.mkdir()
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if prefix:
            entry = pwd.getpwnam(SERVER_USER)
            for p in (base, sockets, pwfile):
                os.chown(p, entry.pw_uid, entry.pw_gid)
        port = free_port()
        _run([*prefix, str(bindir / "initdb"), "-D", str(datadir), "-U", user, f"--pwfile={pwfile}",
              "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
             "initdb")
        pwfile.unlink()
        options = " ".join([f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets}",
                            *(f"-c {k}={v}" for k, v in {**SERVER_SETTINGS, **(settings or {})}.items())])
        try:
            _run([*prefix, str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l", str(log), "-w",
                  "-t", "60", "start"], "pg_ctl start", log)
            server = PgServer("127.0.0.1", port, user, password, dbname, datadir)
            con = server.connect("postgres")
            con.autocommit = True
            con.cursor().execute(f"create database {dbname}")
            con.close()
            yield server
        finally:
            _stop(bindir, datadir, prefix)
    finally:
        _remove(base)


def _remove(folder: Path, attempts: int = 50) -> None:
    """Remove a server's folder; again while something still in it (a process killed a moment ago, a server
    just stopped) makes it reappear or stay, for up to ~10 s."""
    for _ in range(attempts):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.2)
