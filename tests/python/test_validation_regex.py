"""On DuckDB an anchored rule pattern ``^body$`` runs as RE2's full match of ``body`` (macro
duckdb__tos_regex_match: DuckDB then tests each distinct value of a dictionary-compressed column
once), or as GLOB when it is a fixed run of plain characters and classes (the date and time shapes).
These tests pin the macros that decide when that is the same test (tos_is_anchored_pattern,
tos_glob_of_pattern) and check, in DuckDB, that every pattern they convert gives the same answer."""

from __future__ import annotations

import re

import duckdb
import pytest

from iapt_idb import paths
from iapt_idb.validation.catalogue import load_rules
from plain_jinja_macros import macro_module, returned

CASES = {
    "^[0-9]{6,18}$": True,
    "^[0-9]{4}[-/](0[1-9]|1[0-2])$": True,  # | inside a group
    "^[A-Z|]{2}$": True,  # | inside a character class
    "^(a|b)$": True,
    "^a|b$": False,  # top-level |: (^a)|(b$), not a full match of a|b
    "^a$|^b$": False,
    "^a\\$": False,  # the final $ is a literal dollar
    "^[0-9]{2}": False,  # not anchored at the end
    "[0-9]{2}$": False,  # not anchored at the start
    "^$": True,
    "^[]|]$": True,  # a ] first in a class is a literal: the class is ] or |
    "^[^]|]a$": True,
    "^[\\]|]$": True,  # an escaped ] inside a class
    "^[](]a|b$": False,  # the class is ] or (, so a|b is top level
}

# Values on either side of the catalogue's patterns: digits, codes, dates, spaces and line ends.
VALUES = [
    "", " ", "\t", "\n", "0", "1", "12", "123", "1234", "12345", "123456", "1234567890", "12345678901234567890",
    "A", "AB", "A1", "ABC", "ABC12", "RXX01", "RXX0123456", "ab", "a1", "2026-10-01", "2026-13-01",
    "2026-10", "2026/10", "2026-1", "12:30:00", "2026-10-01T12:30:00", "AB1 2CD", "AB12 3CD", "ab1 2cd",
    "999 123 4567", "9991234567", "1234\n", "\n1234", "12 ", " 12", "12.5", "-1", "+1", "１２", "Y", "N", "X",
    "]", "|", "(", "a", "b", "xa", "]a", "a|b",
    # around the date and time shapes: one character more, less or changed, non-ASCII digits, line ends
    "2026-10-01 00:00:00", "2026-10-01 00:00:0", "2026-10-01 00:00:000", "2026-10-01T00:00:00", "2026-10-01 12:30:00",
    "1899-12-30 09:05:00", "1899-12-30 9:05:00", "1899-12-30 09:05:00 ", "20261001", "2026-10-1", "2026-10-001",
    "02026-10-01", "2026_10_01", "2026-10-01\n", "２０２６-10-01", "2026-1O-01", "9:05", "09:05:00", "24:00:00",
    "AB12345", "A12345", "a12345", "Z99999", "A1234", "é12345", "A,B", "a b", "-",
]

GLOB_CASES = {
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
    "^[A-Z][0-9]{2}$": "[A-Z][0-9][0-9]",
    "^1899-12-30 [0-9]{2}:[0-9]{2}$": "1899-12-30 [0-9][0-9]:[0-9][0-9]",
    "^[A-Za-z0-9]$": "[A-Za-z0-9]",
    "^a$": "a",
    "^[0-9]{6,18}$": "",  # a range of counts: RE2
    "^[0-9]?$": "",
    "^.{4}$": "",  # any character but a line end: RE2 (GLOB's ? is any character)
    "^[^0-9]$": "",  # a negated class
    "^\\d{2}$": "",  # an escape
    "^(a|b)$": "",
    "^[0-9]{2}": "",  # not anchored
    "^$": "",
    "^[]a]$": "",
    "^a*$": "",
}


def _macro_patterns() -> list[str]:
    """Every pattern the TOS macros write themselves (the date, time and datetime shapes)."""
    found = set()
    for path in sorted((paths.ROOT / "macros").rglob("*.sql")):
        found.update(re.findall(r"tos_regex_match\([^,]+, '(\^[^']*\$)'\)", path.read_text(encoding="utf-8")))
    assert len(found) >= 5, "the macros' own date and time patterns were not found"
    return sorted(found)


def _macro_verdicts(patterns: list[str]) -> dict[str, bool]:
    """tos_is_anchored_pattern of each pattern, rendered from macros/tos/tos_helpers.sql by plain Jinja."""
    macro = macro_module("tos/tos_helpers.sql").tos_is_anchored_pattern
    return {pattern: bool(returned(macro, pattern)) for pattern in patterns}


@pytest.fixture(scope="module")
def catalogue_patterns() -> list[str]:
    found = sorted({r["params"]["pattern"] for r in load_rules() if r["check_name"] == "regex"})
    assert len(found) >= 10, "the catalogue's regex rules were not found"
    return found


def test_anchored_pattern_macro(catalogue_patterns: list[str]) -> None:
    verdicts = _macro_verdicts(sorted(set(CASES) | set(catalogue_patterns)))
    assert {p: verdicts[p] for p in CASES} == CASES
    converted = [p for p in catalogue_patterns if verdicts[p]]
    assert len(converted) >= len(catalogue_patterns) // 2, "most catalogue patterns should run as full matches"
    converted += [p for p, anchored in CASES.items() if anchored]

    con = duckdb.connect()
    con.execute("create table v as select unnest(?::varchar[]) as s", [VALUES])
    for pattern in converted:
        body = "(?:" + pattern[1:-1] + ")"
        differ = con.execute(
            "select s from v where regexp_matches(s, ?) is distinct from regexp_full_match(s, ?)",
            [pattern, body],
        ).fetchall()
        assert not differ, f"{pattern!r}: full match of {body!r} differs on {differ}"


def test_fixed_patterns_run_as_glob_with_the_same_answer(catalogue_patterns: list[str]) -> None:
    macro = macro_module("tos/tos_helpers.sql").tos_glob_of_pattern
    assert {p: returned(macro, p) for p in GLOB_CASES} == GLOB_CASES
    patterns = sorted(set(catalogue_patterns) | set(_macro_patterns()) | set(GLOB_CASES))
    globs = {p: returned(macro, p) for p in patterns}
    assert globs["^[0-9]{4}-[0-9]{2}-[0-9]{2}$"], "the date shape, tested on every date, should run as GLOB"

    con = duckdb.connect()
    con.execute("create table v as select unnest(?::varchar[]) as s", [[*VALUES, None]])
    for pattern, glob in globs.items():
        if not glob:
            continue
        matched, differ = con.execute(
            "select count(*) filter (where s glob ?), list(s) filter (where (s glob ?) is distinct from"
            " regexp_matches(s, ?)) from v",
            [glob, glob, pattern],
        ).fetchone()
        assert not differ, f"{pattern!r}: GLOB {glob!r} differs on {differ}"
        assert matched or pattern in GLOB_CASES, f"{pattern!r}: no test value matches it"
