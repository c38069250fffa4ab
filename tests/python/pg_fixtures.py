"""A real PostgreSQL server for the tests: ``iapt_idb.pgserver.throwaway_server`` (the benchmark's too).

    pg_server -> PgServer(host, port, user, password, dbname, ...): a session-wide server with database
                 ``iapt`` and a password-protected superuser; stopped (and its folder removed) at the end,
                 also when a test fails.

A server that cannot start fails the tests that need it; it never skips them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iapt_idb.errors import UserError
from iapt_idb.pgserver import PgServer, free_port, throwaway_server  # noqa: F401  (re-exported for the tests)

PG_PASSWORD = "Pg-s3cret-7f2c91"  # tests grep every output for it


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = throwaway_server(password=PG_PASSWORD)
        started = server.__enter__()
    except UserError as exc:
        pytest.fail(f"PostgreSQL test server: {exc}", pytrace=False)
    try:
        yield started
    finally:
        server.__exit__(None, None, None)
