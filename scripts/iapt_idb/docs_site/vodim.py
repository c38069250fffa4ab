"""Completeness and validity of every IDB item, counted as NHS England counts them (VODIM).

Each value of an item is put in exactly one group: valid, other, default, invalid or missing
(see ``codes.py`` for what the groups mean). Coded items are judged against their national code
list; the others against the format the IDB specification gives them (a date on or after
1890-01-01, a time, a number of at most N digits, an NHS Number with a correct check digit, a
postcode, a SNOMED CT or ICD-10 code, an organisation code, text of at most N characters).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import duckdb

from .. import nhs_number
from ..spec import IdbColumn, IdbTable
from .codes import DEFAULT, INVALID, MISSING, OTHER, VALID, item_code_lists, load_code_list
from .render import phrase

_EARLIEST_DATE = dt.date(1890, 1, 1)
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
_PSEUDO_POSTCODE = re.compile(r"^ZZ99 ?[0-9][A-Z]{2}$")  # national "no fixed abode / not known" postcodes
_SNOMED = re.compile(r"^[0-9]{6,18}$")
_SNOMED_EXPRESSION = re.compile(r"^[0-9]{6,18}[ :|=+{},.()A-Za-z0-9-]*$")
_ICD10 = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z.X-]{1,4}$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$")
_YEAR_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_SCORE = re.compile(r"^([0-9]{1,3}(\.[0-9]{1,2})?|Y|N|NA)$")
_ALNUM = re.compile(r"^[A-Za-z0-9]+$")

Check = Callable[[object], str]


@dataclass
class ItemQuality:
    """VODIM counts of one IDB item this month."""

    table: str
    column: str
    rows: int = 0
    counts: Counter = field(default_factory=Counter)
    invalid_codes: list[tuple[str, int]] = field(default_factory=list)  # only for coded items
    present: bool = True  # the mart and the column exist in the target DB
    basis: str = ""  # what the item was judged against, in plain words

    def share(self, category: str) -> float:
        return self.counts.get(category, 0) / self.rows if self.rows else 0.0


def nhs_number_ok(text: str) -> bool:
    """10 digits, modulus 11 check digit, and not a palindrome-style dummy (as the platform checks)."""
    return nhs_number.is_valid(text)


def _length_bounds(col: IdbColumn) -> tuple[int, int | None]:
    notes = col.format_notes
    lo = re.search(r"min a?n(\d+)", notes)
    hi = re.search(r"max a?n(\d+)", notes)
    exact = re.match(r"^a?n(\d+)\b", notes)
    if exact and not lo and not hi:
        return int(exact.group(1)), int(exact.group(1))
    return (int(lo.group(1)) if lo else 1), (int(hi.group(1)) if hi else col.max_length)


def _text_check(col: IdbColumn) -> tuple[Check, str]:
    lo, hi = _length_bounds(col)
    name, code_list = col.name, col.code_list
    if name == "NHSNumber":
        return (lambda v: VALID if nhs_number_ok(str(v)) else INVALID), phrase("checked_nhs_number")
    if name == "Postcode":

        def postcode(v: object) -> str:
            s = str(v)
            if _PSEUDO_POSTCODE.match(s):
                return DEFAULT
            return VALID if _POSTCODE.match(s) else INVALID

        return postcode, phrase("checked_postcode")
    if name == "OnsetDate":
        return (lambda v: VALID if _YEAR_MONTH.match(str(v)) else INVALID), phrase("checked_year_month")
    if name == "PersScore":
        return (lambda v: VALID if _SCORE.match(str(v)) else INVALID), phrase("checked_score")
    if code_list.startswith("ICD-10 or SNOMED CT"):
        return (
            lambda v: VALID if _SNOMED.match(str(v)) or _ICD10.match(str(v)) else INVALID
        ), phrase("checked_icd10_or_snomed")
    if code_list.startswith("SNOMED CT") and (col.max_length or 0) > 18:
        return (
            lambda v: VALID if _SNOMED_EXPRESSION.match(str(v)) and lo <= len(str(v)) <= (hi or 56) else INVALID
        ), phrase("checked_snomed_expression", lo, hi)
    if code_list.startswith("SNOMED CT"):
        return (lambda v: VALID if _SNOMED.match(str(v)) else INVALID), phrase("checked_snomed_concept")
    if code_list.startswith("ODS"):

        def ods(v: object) -> str:
            s = str(v)
            ok = bool(_ALNUM.match(s)) and lo <= len(s) <= (hi or len(s))
            return VALID if ok else INVALID

        return ods, phrase("checked_ods", lo, hi)

    def text(v: object) -> str:
        return VALID if lo <= len(str(v)) <= (hi or len(str(v))) else INVALID

    return text, phrase("checked_text", lo, hi)


def _typed_check(col: IdbColumn) -> tuple[Check, str]:
    kind = col.data_type
    if kind == "date":

        def date(v: object) -> str:
            if isinstance(v, dt.datetime):
                ok = v.time() == dt.time(0) and v.date() >= _EARLIEST_DATE
            elif isinstance(v, dt.date):
                ok = v >= _EARLIEST_DATE
            else:
                try:
                    ok = dt.date.fromisoformat(str(v)) >= _EARLIEST_DATE
                except ValueError:
                    ok = False
            return VALID if ok else INVALID

        return date, phrase("checked_date")
    if kind == "time":
        return (
            lambda v: VALID if isinstance(v, dt.time) or _TIME.match(str(v)) else INVALID
        ), phrase("checked_time")
    if kind == "datetime":

        def stamp(v: object) -> str:
            if isinstance(v, dt.datetime):
                return VALID
            try:
                dt.datetime.fromisoformat(str(v))
                return VALID
            except ValueError:
                return INVALID

        return stamp, phrase("checked_datetime")
    if kind == "integer":
        digits = col.max_length or 18

        def number(v: object) -> str:
            try:
                n = int(str(v))
            except ValueError:
                return INVALID
            return VALID if 0 <= n and len(str(n)) <= digits else INVALID

        return number, phrase("checked_integer", digits)
    return _text_check(col)


def item_check(table: IdbTable, col: IdbColumn, period: tuple[dt.date, dt.date]) -> tuple[Check, str, bool]:
    """(categorise a non-missing value, what it is judged against, is it a coded item)."""
    stem = item_code_lists().get((table.table_id, col.name))
    if stem:
        codes = load_code_list(stem, *period)
        return codes.categorise, phrase("checked_code_list", stem), True
    check, basis = _typed_check(col)
    return check, basis, False


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def measure_item(
    con: duckdb.DuckDBPyConnection, table: IdbTable, col: IdbColumn, period: tuple[dt.date, dt.date]
) -> ItemQuality:
    check, basis, coded = item_check(table, col, period)
    quality = ItemQuality(table.name, col.name, basis=basis)
    invalid_codes: Counter = Counter()
    cursor = con.execute(f'select "{col.name}", count(*) from main."{table.name}" group by 1')
    while batch := cursor.fetchmany(10_000):
        for value, n in batch:
            category = MISSING if is_missing(value) else check(value)
            quality.counts[category] += n
            quality.rows += n
            if coded and category == INVALID:
                invalid_codes[str(value)] += n
    quality.invalid_codes = sorted(invalid_codes.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return quality


def existing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Mart name -> its column names, for the tables in schema main of the target DB."""
    rows = con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = 'main'"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for t, c in rows:
        out.setdefault(t, set()).add(c)
    return out


def measure_all(
    con: duckdb.DuckDBPyConnection, tables: tuple[IdbTable, ...], period: tuple[dt.date, dt.date]
) -> list[ItemQuality]:
    """VODIM counts of all 140 items, in IDB order; items whose mart is absent are marked so."""
    columns = existing_columns(con)
    out: list[ItemQuality] = []
    for table in tables:
        for col in table.columns:
            if col.name in columns.get(table.name, set()):
                out.append(measure_item(con, table, col, period))
            else:
                _, basis, _ = item_check(table, col, period)
                out.append(ItemQuality(table.name, col.name, present=False, basis=basis))
    return out


def category_labels() -> dict[str, str]:
    """Each category's label on the checklist (legend, bars): templates/phrases.txt, category_<name>."""
    return {c: phrase(f"category_{c}") for c in (VALID, OTHER, DEFAULT, INVALID, MISSING)}
