"""Keep NHS Numbers and birth dates out of the site, whatever the inputs carry.

The site is built from local keys and counts only, but some inputs are free text written by other
tools (failure messages, Great Expectations' samples of unexpected values, dbt's copy of test
fixtures). Every text file of the finished site is therefore scrubbed of:

- every NHSNumber and PersonBirthDate value held in the month's IDS001 mart (several spellings);
- anything shaped like a valid NHS Number (10 digits, optionally spaced 3-3-4, correct check digit).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .vodim import nhs_number_ok

REDACTED = "[removed]"
# A number standing alone: not part of a longer code such as a local key RF0000000329.
_NHS_SHAPE = re.compile(r"(?<![0-9A-Za-z])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9A-Za-z])")
_DATE_SHAPE = re.compile(
    r"(?<![0-9])([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4}|[0-9]{2}-[0-9]{2}-[0-9]{4})(?![0-9])"
    r"|(?<![0-9A-Za-z])[0-9]{8}(?![0-9A-Za-z])"
)
_DIGIT_RUN = re.compile(r"[0-9]{10,}")
TEXT_SUFFIXES = frozenset({".html", ".htm", ".css", ".js", ".json", ".csv", ".txt", ".svg", ".md", ".xml"})


@dataclass
class Identifiers:
    nhs_numbers: set[str] = field(default_factory=set)
    birth_dates: set[dt.date] = field(default_factory=set)

    def spellings(self) -> set[str]:
        out: set[str] = set()
        for n in self.nhs_numbers:
            out.add(n)
            if len(n) == 10:
                out.add(f"{n[:3]} {n[3:6]} {n[6:]}")
        for d in self.birth_dates:
            out.update({d.isoformat(), d.strftime("%d/%m/%Y"), d.strftime("%Y%m%d"), d.strftime("%d-%m-%Y")})
        return out


def _as_date(v: object) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def collect(con: duckdb.DuckDBPyConnection) -> Identifiers:
    """NHS Numbers and birth dates of the IDS001 mart (empty when the mart is absent)."""
    ids = Identifiers()
    cols = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'main' and table_name = 'IDS001MPI'"
        ).fetchall()
    }
    if "NHSNumber" in cols:
        for (v,) in con.execute('select distinct "NHSNumber" from main."IDS001MPI" where "NHSNumber" is not null').fetchall():
            if str(v).strip():
                ids.nhs_numbers.add(str(v).strip())
    if "PersonBirthDate" in cols:
        rows = con.execute('select distinct "PersonBirthDate" from main."IDS001MPI" where "PersonBirthDate" is not null')
        for (v,) in rows.fetchall():
            d = _as_date(v)
            if d:
                ids.birth_dates.add(d)
    return ids


def scrub(text: str, spellings: set[str], any_valid_nhs_number: bool = True) -> str:
    """Replace known identifiers (exact spellings) and anything shaped like a valid NHS Number.

    With any_valid_nhs_number False (for program code, whose numeric constants can pass the check
    digit by chance) only numbers of the 999 test range are treated as NHS Numbers by shape.
    """

    def nhs(m: re.Match[str]) -> str:
        digits = "".join(m.groups())
        if digits in spellings or m.group(0) in spellings:
            return REDACTED
        if nhs_number_ok(digits) and (any_valid_nhs_number or digits.startswith("999")):
            return REDACTED
        return m.group(0)

    def date(m: re.Match[str]) -> str:
        return REDACTED if m.group(0) in spellings else m.group(0)

    def known_inside(m: re.Match[str]) -> str:
        run = m.group(0)
        return REDACTED if any(run[i : i + 10] in spellings for i in range(len(run) - 9)) else run

    text = _DATE_SHAPE.sub(date, _NHS_SHAPE.sub(nhs, text))
    text = _DIGIT_RUN.sub(known_inside, text)  # a known NHS Number glued to other characters
    # Malformed values (wrong length, letters) cannot be found by shape: replace them literally,
    # when long enough not to be mistaken for ordinary text.
    for odd in sorted(s for s in spellings if len(s) >= 8 and not (_NHS_SHAPE.fullmatch(s) or _DATE_SHAPE.fullmatch(s))):
        text = text.replace(odd, REDACTED)
    return text


def scrub_tree(root: Path, ids: Identifiers, code_folders: tuple[str, ...] = ("dbt-docs",)) -> int:
    """Scrub every text file under root in place; returns how many files changed.

    Files under code_folders (dbt's single-page app, megabytes of JavaScript) get the narrower
    shape rule; every other file the full one."""
    spellings = ids.spellings()
    changed = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        is_code = path.relative_to(root).parts[0] in code_folders
        clean = scrub(text, spellings, any_valid_nhs_number=not is_code)
        if clean != text:
            path.write_text(clean, encoding="utf-8")
            changed += 1
    return changed
