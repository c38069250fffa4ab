"""The validation rule that reports a value the IDB cannot store, for the export's ``excluded.csv``.

The export leaves out a record holding such a value; the validator reports the same record under a rule
code of record-level (or file-level) severity. This names that rule for each excluded value, from the
rules catalogue (``seeds/tos/tos_rules.csv``), so the list says which rule to look up.
"""

from __future__ import annotations

from functools import lru_cache

# The checks that reject each kind of unstorable value, in order of preference.
_CHECKS_BY_KIND = {
    "text": ("length", "regex", "snomed", "scheme_code_format", "nhs_number", "assessment_score"),
    "integer": ("regex", "length"),
    "date": ("valid_date", "valid_datetime", "date_compare"),
}


def _kind(reason: str) -> str:
    if reason.startswith("text is "):
        return "text"
    if reason.startswith("integer "):
        return "integer"
    return "date"  # 'year outside 100-9999 ...' or 'a date item holds a time of day'


@lru_cache(maxsize=1)
def _rules() -> tuple[dict, ...]:
    from ..validation.catalogue import load_rules

    return tuple(
        r for r in load_rules()
        if r["status"] == "implemented" and r["severity"] != "warning" and r["params"].get("column")
        and r["rule_type"] != "local"  # a local rule is never the platform's reason to reject
        and (r["check_name"] != "date_compare" or r["params"].get("invalid_fails"))
        and (r["check_name"] != "assessment_score" or r["params"].get("kind") == "format")
    )


def rule_code_for(table: str, column: str, reason: str) -> str:
    """The rule code that rejects this unstorable value of table.column, or '' when none is known."""
    checks = _CHECKS_BY_KIND[_kind(reason)]
    found = [r for r in _rules() if r["table_name"] == table and r["params"]["column"] == column
             and r["check_name"] in checks]
    if not found:
        return ""
    if checks[0] == "length":  # the tightest length rule first: it is the one a too-long text trips
        found.sort(key=lambda r: (checks.index(r["check_name"]), r["params"].get("max", 0)))
    else:
        found.sort(key=lambda r: checks.index(r["check_name"]))
    return found[0]["rule_code"]
