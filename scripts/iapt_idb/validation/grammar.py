"""The ``condition_plain`` grammar: how a rule's English failure condition becomes a check kind and params.

The spec's rules (``reference/spec/validation_rules*.csv``) state their failure condition in column
``condition_plain``. A condition of one of the shapes below is parsed mechanically; any other needs an entry in
``overrides.OVERRIDES`` (keyed by rule code), which wins over the parser. ``FAIL``/``WARN`` is only a word
here: the rule's ``severity`` column decides what the platform does. ``C`` is a column of the rule's table,
``N`` a whole number, ``D`` a date ``YYYY-MM-DD``, ``IDSnnn`` a table id; the first matching shape wins.

| shape (``condition_plain``)                                              | check kind        |
|---|---|
| ``FAIL if C IS NULL`` [``OR TRIM(C) = ''`` / ``OR blank``] (or ``WARN``) | not_blank         |
| ``FAIL if C IS NOT NULL AND LENGTH(C) NOT BETWEEN N AND M``              | length            |
| ``FAIL if C IS NOT NULL AND LENGTH <> N``                                | length (min=max)  |
| ``FAIL if LENGTH(C) > N``                                                | length (min 0)    |
| ``FAIL if C IS NOT NULL`` / ``populated`` ``AND NOT matches ^...$``      | regex             |
| ``FAIL if C IS NOT NULL AND (not a valid date OR < D`` ...               | valid_date        |
| ``FAIL if C populated AND (not a valid timestamp`` ...                   | valid_datetime    |
| ``FAIL only if C cannot be parsed as a time`` ...                        | valid_time        |
| ``FAIL if C`` [``IS NOT NULL AND`` [C]] ``NOT IN (`` ... (or ``WARN``)   | in_code_list      |
| ``FAIL if C < / > [IDSnnn.]C2 [+ N day/years] (both populated)``          | date_compare      |
| ``FAIL if invalid date OR C > C2`` (C2 on the header)                    | date_compare      |
| ``FAIL if C > ReportingPeriod...`` (header)                              | date_compare      |
| ``... COUNT(*) OVER ([PARTITION BY] C1, C2) > 1`` [``... equal``]        | unique            |
| ``FAIL if COUNT(*) OVER (PARTITION BY C) > 1 for populated`` ...         | unique            |
| ``FAIL if COUNT(IDSnnn) = 0``                                            | table_not_empty   |
| ``FAIL if NOT EXISTS [a] valid IDSnnn [row] with same C``                | has_valid_child   |
| ``FAIL if NOT EXISTS [valid] IDSnnn [row] with same C`` [...]            | parent_valid      |
| ``FAIL if C NOT IN (`` ... (a fallback of the in_code_list shape)        | in_code_list      |

An in_code_list column must have its national list in ``tables.CODE_LISTS`` (column -> seed
``ref_<stem>``). A condition that fits no shape, or a code-list column with no list, stops the generator
with a message naming the rule and what was not understood (``GrammarError``). A local rule
(``rules/local_rules.yml``) needs no English: it gives its check kind and params directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import UserError
from .tables import CODE_LISTS, HEADER_TABLE, meta


class GrammarError(UserError):
    """A rule's condition_plain (or a fact it needs) could not be understood: says which rule and what."""


class _Ctx:
    """The rule being parsed, for messages."""

    def __init__(self, rule_code: str, table_name: str) -> None:
        self.rule_code = rule_code or "(rule)"
        self.table_name = table_name or "(no table)"

    def code_list(self, column: str) -> str:
        try:
            return CODE_LISTS[column]
        except KeyError:
            raise GrammarError(
                f"{self.rule_code}: table {self.table_name}, column {column}: the rule checks a code list, but "
                f"{column} has no national code list; add '{column}': '<stem>' to CODE_LISTS in "
                "scripts/iapt_idb/validation/tables.py (the list is seeds/reference/ref_<stem>.csv)"
            ) from None


def _cols(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _other(ref: str | None, column: str) -> dict[str, str]:
    """'IDS000.' + 'ReportingPeriodEndDate' -> {'table': 'IDS000Header', 'column': ...}."""
    if ref:
        return {"table": meta(ref.rstrip(".")).name, "column": column}
    return {"column": column}


Build = Callable[[re.Match[str], _Ctx], tuple[str, dict[str, Any]]]

PATTERNS: list[tuple[str, Build]] = [
    (r"^(?:FAIL|WARN) if (\w+) IS NULL(?: OR (?:TRIM\(\w+\) = ''|blank))?$",
     lambda m, x: ("not_blank", {"column": m[1]})),
    (r"^FAIL if (\w+) IS NOT NULL AND LENGTH\(\w+\) NOT BETWEEN (\d+) AND (\d+)",
     lambda m, x: ("length", {"column": m[1], "min": int(m[2]), "max": int(m[3])})),
    (r"^FAIL if (\w+) IS NOT NULL AND LENGTH <> (\d+)$",
     lambda m, x: ("length", {"column": m[1], "min": int(m[2]), "max": int(m[2])})),
    (r"^FAIL if LENGTH\((\w+)\) > (\d+)$",
     lambda m, x: ("length", {"column": m[1], "min": 0, "max": int(m[2])})),
    (r"^FAIL if (\w+) (?:IS NOT NULL|populated|is populated) AND NOT matches (\^\S*\$)",
     lambda m, x: ("regex", {"column": m[1], "pattern": m[2], "fail_on": "no_match"})),
    (r"^FAIL if (\w+) IS NOT NULL AND \(not a valid date OR < (\d{4}-\d{2}-\d{2})",
     lambda m, x: ("valid_date", {"column": m[1], **({"from": m[2]} if m[2] != "1890-01-01" else {})})),
    (r"^FAIL if (\w+) populated AND \(not a valid timestamp",
     lambda m, x: ("valid_datetime", {"column": m[1]})),
    (r"^FAIL only if (\w+) cannot be parsed as a time",
     lambda m, x: ("valid_time", {"column": m[1]})),
    (r"^(?:WARN|FAIL) if (\w+) (?:IS NOT NULL AND (?:\w+ )?)?NOT IN \(",
     lambda m, x: ("in_code_list", {"column": m[1], "code_list": x.code_list(m[1])})),
    (r"^FAIL if (\w+) ([<>]) (IDS\d{3}\.)?(\w+)(?: \+ (\d+) (day|years?))? \(both populated\)$",
     lambda m, x: ("date_compare", {
         "column": m[1], "op": m[2], "other": _other(m[3], m[4]),
         **({"offset": {"n": int(m[5]), "unit": "year" if m[6].startswith("year") else "day"}} if m[5] else {}),
     })),
    (r"^FAIL if invalid date OR (\w+) > (\w+)$",
     lambda m, x: ("date_compare", {
         "column": m[1], "op": ">", "other": {"table": HEADER_TABLE, "column": m[2]}, "invalid_fails": True,
     })),
    (r"^FAIL if (\w+) > (ReportingPeriod\w+)$",
     lambda m, x: ("date_compare", {"column": m[1], "op": ">", "other": {"table": HEADER_TABLE, "column": m[2]}})),
    (r"COUNT\(\*\) OVER \((?:PARTITION BY )?([\w, ]+)\) > 1(?! for populated)(.*)$",
     lambda m, x: ("unique", {"columns": _cols(m[1]), "nulls": "equal" if "equal" in m[2] else "distinct"})),
    (r"^FAIL if COUNT\(\*\) OVER \(PARTITION BY (\w+)\) > 1 for populated",
     lambda m, x: ("unique", {"columns": [m[1]], "nulls": "distinct"})),
    (r"^FAIL if COUNT\((IDS\d{3})\) = 0$",
     lambda m, x: ("table_not_empty", {"table": meta(m[1]).name})),
    (r"^FAIL if NOT EXISTS (?:a )?valid (IDS\d{3}) (?:row )?with same (\w+)$",
     lambda m, x: ("has_valid_child", {"child_table": meta(m[1]).name, "key": m[2]})),
    (r"^FAIL if NOT EXISTS (?:valid )?(IDS\d{3}) (?:row )?with same (\w+)(?: that has no rejecting error)?$",
     lambda m, x: ("parent_valid", {"parent_table": meta(m[1]).name, "key": m[2]})),
    (r"^(?:WARN|FAIL) if (\w+) NOT IN \(",
     lambda m, x: ("in_code_list", {"column": m[1], "code_list": x.code_list(m[1])})),
]


def parse_condition(condition: str, rule_code: str = "", table_name: str = "") -> tuple[str, dict[str, Any]] | None:
    """(check kind, params) for a condition of one of the shapes above, or None."""
    ctx = _Ctx(rule_code, table_name)
    for pattern, build in PATTERNS:
        m = re.search(pattern, condition)
        if m:
            return build(m, ctx)
    return None


def not_understood(rule_code: str, table_name: str, condition: str) -> GrammarError:
    """The error for a condition that fits no shape and has no override."""
    return GrammarError(
        f"{rule_code} (table {table_name or 'file-wide'}): condition_plain not understood: {condition!r}; "
        "write it in one of the shapes listed in scripts/iapt_idb/validation/grammar.py, or give the rule's "
        "check kind and params in scripts/iapt_idb/validation/overrides.py (OVERRIDES)"
    )
