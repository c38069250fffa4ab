"""Keep NHS Numbers, birth dates and postcodes out of the site, whatever the inputs carry.

The site is built from local keys and counts only, but some inputs are free text written by other
tools (failure messages, Great Expectations' samples of unexpected values, dbt's copy of test
fixtures). Every text file of the finished site is therefore scrubbed of:

- every NHSNumber and PersonBirthDate value held in the month's IDS001 mart (several spellings);
- every Postcode value held there, found by its letters and digits alone (one to three words of the text,
  in any case, with up to 4 characters of spacing or punctuation between them: ``LS28 9NX``, ``ls28  9nx``,
  ``LS289NX``, ``LS28-9NX``), except the national pseudo-postcodes (ZZ99 ...), which identify nobody, and
  values of fewer than 5 letters and digits, which would match ordinary text;
- anything shaped like a valid NHS Number (10 digits, optionally spaced 3-3-4, correct check digit).

The columns are those of ``spec.PATIENT_IDENTIFIERS``. ``Scrubber`` derives what it looks for once per
site, so each file costs one pass of each pattern, however many patients the month holds.
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
_NOT_WORD = re.compile(r"[^A-Za-z0-9]")
_MAX_WORDS = 3  # a held value is looked for as up to three words of the text
_MAX_GAP = 4  # characters between two of those words (spaces a page pads, a hyphen)
_MIN_HELD = 5  # letters and digits: shorter values (defects such as "X") would match ordinary text
TEXT_SUFFIXES = frozenset({".html", ".htm", ".css", ".js", ".json", ".csv", ".txt", ".svg", ".md", ".xml"})


@dataclass
class Identifiers:
    nhs_numbers: set[str] = field(default_factory=set)
    birth_dates: set[dt.date] = field(default_factory=set)
    postcodes: set[str] = field(default_factory=set)  # and any identifier column without a collector of its own

    def held_values(self) -> set[str]:
        """The postcodes by their letters and digits alone, upper case (``Scrubber`` finds them in any case,
        spacing and punctuation)."""
        compact = {_NOT_WORD.sub("", p).upper() for p in self.postcodes}
        return {c for c in compact if len(c) >= _MIN_HELD}

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


def _add_held_value(ids: Identifiers, v: object) -> None:
    ids.postcodes.add(" ".join(str(v).split()))


def _add_postcode(ids: Identifiers, v: object) -> None:
    if not _PSEUDO_POSTCODE.match(" ".join(str(v).split()).upper()):
        _add_held_value(ids, v)


# How each column of spec.PATIENT_IDENTIFIERS is found in text; a column without an entry here has its
# values found by their letters and digits, as postcodes are (pseudo-postcodes aside).
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
            add = _COLLECTORS.get(column, _add_held_value)
            rows = con.execute(f'select distinct "{column}" from main."{table}" where "{column}" is not null')
            for (v,) in rows.fetchall():
                add(ids, v)
    return ids


class Scrubber:
    """Replaces the identifiers of ``ids`` in text: known spellings, anything shaped like a valid NHS Number,
    and the held values (postcodes) as words of the text. Built once per site: what it looks for is derived
    here, not per file."""

    def __init__(self, ids: Identifiers) -> None:
        self.spellings = ids.spellings()
        # Malformed values (wrong length, letters) cannot be found by shape: replaced literally, when long
        # enough not to be mistaken for ordinary text.
        self.odd = sorted(s for s in self.spellings
                          if len(s) >= 8 and not (_NHS_SHAPE.fullmatch(s) or _DATE_SHAPE.fullmatch(s)))
        self.held = frozenset(ids.held_values())
        # every start of a held value: a run of words is extended only while it is one
        self.starts = frozenset(v[:n] for v in self.held for n in range(1, len(v) + 1))

    def __call__(self, text: str, any_valid_nhs_number: bool = True) -> str:
        """With any_valid_nhs_number False (for program code, whose numeric constants can pass the check
        digit by chance) only numbers of the 999 test range are treated as NHS Numbers by shape."""
        spellings = self.spellings

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
        for odd in self.odd:
            text = text.replace(odd, REDACTED)
        return self._held_words(text) if self.held else text

    def _held_words(self, text: str) -> str:
        """Replace every run of one to three words (letters and digits; at most _MAX_GAP other characters
        between two of them) whose letters and digits, upper case, are a held value; the longest run first."""
        words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        out: list[str] = []
        last = i = 0
        while i < len(words):
            start, end = words[i]
            joined, hit = "", 0
            for k in range(i, min(i + _MAX_WORDS, len(words))):
                if k > i and words[k][0] - words[k - 1][1] > _MAX_GAP:
                    break
                joined += text[words[k][0]:words[k][1]].upper()
                if joined not in self.starts:
                    break
                if joined in self.held:
                    hit, end = k - i + 1, words[k][1]
            if hit:
                out += [text[last:start], REDACTED]
                last = end
            i += hit or 1
        return "".join(out) + text[last:] if out else text


def scrub_tree(root: Path, ids: Identifiers, code_folders: tuple[str, ...] = ("dbt-docs",)) -> int:
    """Scrub every text file under root in place; returns how many files changed.

    Files under code_folders (dbt's single-page app, megabytes of JavaScript) get the narrower
    shape rule; every other file the full one."""
    scrub = Scrubber(ids)
    changed = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        is_code = path.relative_to(root).parts[0] in code_folders
        clean = scrub(text, any_valid_nhs_number=not is_code)
        if clean != text:
            path.write_text(clean, encoding="utf-8")
            changed += 1
    return changed
