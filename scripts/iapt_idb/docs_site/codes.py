"""National code lists, read as NHS England's data-quality counting (VODIM) needs them.

VODIM sorts every value of a coded item into one of five groups:

- **valid**: a national code that carries real information (for example ethnic category ``A``);
- **other**: a national code meaning "other / not listed" (disability ``XX``, consultation
  mechanism ``98``, gender identity ``4``);
- **default**: a national code meaning "not known / not stated / not recorded" (``X``, ``Z``,
  ``99``, ``ZZ``, ``UU`` style codes, and any code the code list itself marks as a default code);
- **invalid**: anything else, including codes that are retired or that the platform refuses;
- **missing**: no value at all (null or blank).

Every choice of "other" and "default" is made here, from the code list's own description and notes
(``reference/spec/codelists/*.csv``), so it is easy to review and change in one place.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..paths import CODELIST_DIR

VALID, OTHER, DEFAULT, INVALID, MISSING = "valid", "other", "default", "invalid", "missing"
CATEGORIES: tuple[str, ...] = (VALID, OTHER, DEFAULT, INVALID, MISSING)

# Descriptions that start like this mean "not known / not stated": a default code.
_DEFAULT_DESCRIPTION = re.compile(r"^(not known|not stated|unknown|number of hours worked not known)", re.I)
# Descriptions that start like this mean "other (not listed)".
_OTHER_DESCRIPTION = re.compile(r"^other \(not listed\)", re.I)
# Codes whose list gives no description: by NHS convention these letters mean not known / not stated.
_CONVENTIONAL_DEFAULT_CODES = frozenset({"X", "Z", "ZZ", "UU"})
# Notes that say the platform refuses a listed code (legacy or not permitted for IAPT).
_REFUSED_NOTE = re.compile(r"\bNOT (valid|in DSP|permitted|accepted)\b")


@dataclass(frozen=True)
class CodeList:
    stem: str
    categories: dict[str, str]  # code -> valid | other | default (codes absent here are invalid)
    labels: dict[str, str]

    def categorise(self, value: object) -> str:
        return self.categories.get(str(value), INVALID)


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def _category(code: str, description: str, notes: str) -> str:
    if "default code" in notes.lower() or _DEFAULT_DESCRIPTION.match(description):
        return DEFAULT
    if _OTHER_DESCRIPTION.match(description):
        return OTHER
    if not description and code in _CONVENTIONAL_DEFAULT_CODES:
        return DEFAULT
    return VALID


@lru_cache(maxsize=None)
def load_code_list(stem: str, period_start: dt.date, period_end: dt.date, folder: Path = CODELIST_DIR) -> CodeList:
    """The codes of ``<stem>.csv`` usable in the period, each with its VODIM group."""
    categories: dict[str, str] = {}
    labels: dict[str, str] = {}
    with (folder / f"{stem}.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = (row.get("code") or "").strip()
            description = (row.get("description") or "").strip()
            notes = (row.get("notes") or "").strip()
            if not code:
                continue
            labels[code] = description
            start, end = _parse_date(row.get("valid_from") or ""), _parse_date(row.get("valid_to") or "")
            if (end and end < period_start) or (start and start > period_end) or _REFUSED_NOTE.search(notes):
                continue  # retired, not yet valid, or refused by the platform: counts as invalid
            categories[code] = _category(code, description, notes)
    return CodeList(stem, categories, labels)


_UID_ITEM = re.compile(r"\b([A-Za-z0-9]+) \(I(\d{3})\d{3}\)")
_PREFIXED_ITEM = re.compile(r"\b((?:IDS\d{3}/)*IDS\d{3})\.([A-Za-z0-9]+)")


@lru_cache(maxsize=None)
def item_code_lists(folder: Path = CODELIST_DIR) -> dict[tuple[str, str], str]:
    """(table id, column) -> code-list stem, read from the 'item(s) using it' column of INDEX.md."""
    out: dict[tuple[str, str], str] = {}
    for line in (folder / "INDEX.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `([a-z0-9_]+)\.csv` \| \d+ \| (.*?) \| (.*?) \|", line)
        if not m or "not a national list" in m.group(3):
            continue  # e.g. an analysts' grouping of SNOMED CT concepts: not a list the platform checks
        stem, items = m.group(1), m.group(2)
        for col, table_digits in _UID_ITEM.findall(items):
            out.setdefault((f"IDS{table_digits}", col), stem)
        for tables, col in _PREFIXED_ITEM.findall(items):
            for table_id in tables.split("/"):
                out.setdefault((table_id, col), stem)
    return out
