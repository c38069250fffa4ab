"""Keep NHS Numbers, birth dates and postcodes out of the site, whatever the inputs carry.

The site is built from local keys and counts only, but some inputs are free text written by other
tools (failure messages, Great Expectations' samples of unexpected values, dbt's copy of test
fixtures). Every text file of the finished site is therefore scrubbed of:

- every NHSNumber and PersonBirthDate value held in the month's IDS001 mart (several spellings);
- every Postcode value held there (as held, upper case, with and without its space), except the national
  pseudo-postcodes (ZZ99 ...), which identify nobody, and values shorter than 5 characters, which would
  match ordinary text;
- anything shaped like a valid NHS Number (10 digits, optionally spaced 3-3-4, correct check digit).

The columns are those of ``spec.PATIENT_IDENTIFIERS``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..spec import PATIENT_IDENTIFIERS
from .vodim import nhs_number_ok

REDACTED = "[removed]"
# A number standing alone: not part of a longer code such as a local key RF0000000329.
_NHS_SHAPE = re.compile(r"(?<![0-9A-Za-z])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9A-Za-z])")
_DATE_SHAPE = re.compile(
    r"(?<![0-9])([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4}|[0-9]{2}-[0-9]{2}-[0-9]{4})(?![0-9])"
    r"|(?<![0-9A-Za-z])[0-9]{8}(?![0-9A-Za-z])"
)
_DIGIT_RUN = re.compile(r"[0-9]{10,}")
_PSEUDO_POSTCODE = re.compile(r"^ZZ99 ?[0-9][A-Z]{2}$")  # "no fixed abode / not known": identifies nobody
_WORD = re.compile(r"[A-Za-z0-9]+")
_WORDS_VALUE = re.compile(r"[A-Z0-9]+( [A-Z0-9]+)?")  # what _scrub_words can find: one or two words
_MAX_GAP = 4  # white space between the two words of a postcode, as a page may pad it
_MIN_POSTCODE = 5  # shorter values (defects such as "X") would match ordinary text
TEXT_SUFFIXES = frozenset({".html", ".htm", ".css", ".js", ".json", ".csv", ".txt", ".svg", ".md", ".xml"})


@dataclass
class Identifiers:
    nhs_numbers: set[str] = field(default_factory=set)
    birth_dates: set[dt.date] = field(default_factory=set)
    postcodes: set[str] = field(default_factory=set)

    def literals(self) -> set[str]:
        """The postcodes, upper case: as held (words separated by one space), without spaces, and with one
        space before the last three characters (the inward code); ``scrub`` finds them word by word,
        whatever their case and spacing in the text."""
        out: set[str] = set()
        for p in self.postcodes:
            words = p.upper().split()
            compact = "".join(words)
            out.update({" ".join(words), compact, f"{compact[:-3]} {compact[-3:]}"})
        return {s for s in out if len(s) >= _MIN_POSTCODE}

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


def _add_nhs_number(ids: Identifiers, v: object) -> None:
    if str(v).strip():
        ids.nhs_numbers.add(str(v).strip())


def _add_birth_date(ids: Identifiers, v: object) -> None:
    d = _as_date(v)
    if d:
        ids.birth_dates.add(d)


def _add_postcode(ids: Identifiers, v: object) -> None:
    text = " ".join(str(v).split())
    if len(text) >= _MIN_POSTCODE and not _PSEUDO_POSTCODE.match(text.upper()):
        ids.postcodes.add(text)


# How each column of spec.PATIENT_IDENTIFIERS is found in text; a column without an entry here has its
# values replaced as they are held (as postcodes are).
_COLLECTORS = {"NHSNumber": _add_nhs_number, "PersonBirthDate": _add_birth_date, "Postcode": _add_postcode}


def collect(con: duckdb.DuckDBPyConnection) -> Identifiers:
    """The patient identifiers held in the marts (``spec.PATIENT_IDENTIFIERS``; none for an absent table)."""
    ids = Identifiers()
    for table, columns in PATIENT_IDENTIFIERS.items():
        held = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'main' and table_name = ?",
                [table],
            ).fetchall()
        }
        for column in columns:
            if column not in held:
                continue
            add = _COLLECTORS.get(column, _add_postcode)
            rows = con.execute(f'select distinct "{column}" from main."{table}" where "{column}" is not null')
            for (v,) in rows.fetchall():
                add(ids, v)
    return ids


def scrub(text: str, spellings: set[str], any_valid_nhs_number: bool = True, literals: set[str] = frozenset()) -> str:
    """Replace known identifiers (exact spellings), anything shaped like a valid NHS Number, and every
    one of ``literals`` (``Identifiers.literals``: postcodes) standing as one or two words.

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
    if not literals:
        return text
    # a value with other characters than letters, digits and one space (a defect such as "LS1-4AP") is
    # replaced as it is written, whatever its case
    odd_literals = sorted((v for v in literals if not _WORDS_VALUE.fullmatch(v)), key=lambda v: (-len(v), v))
    if odd_literals:
        text = re.sub("|".join(map(re.escape, odd_literals)), REDACTED, text, flags=re.IGNORECASE)
    return _scrub_words(text, literals)


def _scrub_words(text: str, literals: set[str]) -> str:
    """Replace every word or pair of words (letters and digits; a pair: up to 4 white-space characters between
    them) that is one of ``literals`` (upper case, one space), whatever its case; a pair is tried first."""
    longest = max(len(v) for v in literals)
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    out: list[str] = []
    last = i = 0
    while i < len(words):
        start, end = words[i]
        hit = 0
        if i + 1 < len(words) and words[i + 1][0] - end <= _MAX_GAP and text[end:words[i + 1][0]].isspace():
            pair_end = words[i + 1][1]
            pair = text[start:end] + " " + text[words[i + 1][0]:pair_end]
            if len(pair) <= longest and pair.upper() in literals:
                hit, end = 2, pair_end
        if not hit and end - start <= longest and text[start:end].upper() in literals:
            hit = 1
        if hit:
            out += [text[last:start], REDACTED]
            last = end
        i += hit or 1
    return "".join(out) + text[last:] if out else text


def scrub_tree(root: Path, ids: Identifiers, code_folders: tuple[str, ...] = ("dbt-docs",)) -> int:
    """Scrub every text file under root in place; returns how many files changed.

    Files under code_folders (dbt's single-page app, megabytes of JavaScript) get the narrower
    shape rule; every other file the full one."""
    spellings, literals = ids.spellings(), ids.literals()
    changed = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        is_code = path.relative_to(root).parts[0] in code_folders
        clean = scrub(text, spellings, any_valid_nhs_number=not is_code, literals=literals)
        if clean != text:
            path.write_text(clean, encoding="utf-8")
            changed += 1
    return changed
