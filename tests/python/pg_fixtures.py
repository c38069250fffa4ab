"""A real PostgreSQL server for the tests: initdb + pg_ctl on a temporary data folder, 127.0.0.1 on a free port.

    pg_server -> PgServer(host, port, user, password, dbname, ...): a session-wide server with database
                 ``iapt`` and a password-protected superuser; stopped (and its folder removed) at the end,
                 also when a test fails.

The binaries are Debian's (apt-packages.txt: postgresql), found under /usr/lib/postgresql/<version>/bin or
$IAPT_PG_BINDIR. PostgreSQL refuses to run as root: as root the server runs as the unprivileged system user
``postgres`` (created by Debian's package; created with useradd when missing), which owns the data folder.
A server that cannot start fails the tests that need it; it never skips them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "iapt_tester"
PG_PASSWORD = "Pg-s3cret-7f2c91"  # tests grep every output for it
PG_DBNAME = "iapt"
SERVER_USER = "postgres"


def pg_bindir() -> Path:
    given = os.environ.get("IAPT_PG_BINDIR")
    if given:
        return Path(given)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): install Debian's "
                    "'postgresql' package (make system-deps) or set IAPT_PG_BINDIR", pytrace=False)
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
    password: str
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

    def connect(self):  # noqa: ANN201 - psycopg2 connection
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=self.dbname, connect_timeout=5)


def _as_server_user() -> list[str]:
    """The command prefix that runs a server binary unprivileged ([] when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                       check=True)
    return ["runuser", "-u", SERVER_USER, "--"]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, text=True, capture_output=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"PostgreSQL test server: {what} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n"
                    f"{proc.stderr[-2000:]}", pytrace=False)


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    bindir = pg_bindir()
    prefix = _as_server_user()
    # Not under pytest's tmp dir: that one is private to root, and the server user must reach its folder.
    base = Path(tempfile.mkdtemp(prefix="iapt_pg_"))
    datadir, sockets, pwfile, log = base / "data", base / "sock", base / "pwfile", base / "server.log"
    sockets.mkdir()
    pwfile.write_text(PG_PASSWORD + "\n")
    if prefix:
        entry = pwd.getpwnam(SERVER_USER)
        for p in (base, sockets, pwfile):
            os.chown(p, entry.pw_uid, entry.pw_gid)
    port = free_port()
    started = False
    try:
        _run([*prefix, str(bindir / "initdb"), "-D", str(datadir), "-U", PG_USER, f"--pwfile={pwfile}",
              "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
             "initdb")
        pwfile.unlink()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
        _run([*prefix, str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l", str(log), "-w", "-t", "60",
              "start"], f"pg_ctl start (log {log})")
        started = True
        server = PgServer("127.0.0.1", port, PG_USER, PG_PASSWORD, PG_DBNAME, datadir)
        con = PgServer("127.0.0.1", port, PG_USER, PG_PASSWORD, "postgres", datadir).connect()
        con.autocommit = True
        con.cursor().execute(f"create database {PG_DBNAME}")
        con.close()
        yield server
    finally:
        if started:
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)
