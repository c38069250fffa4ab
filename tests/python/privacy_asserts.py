"""assert_no_patient_data: no NHS number, birth date or postcode of the test input in output text or leftover files.

NHS numbers are looked for as 10 digits and in the spaced 3-3-4 form; birth dates (YYYY-MM-DD) also as
DD/MM/YYYY and YYYYMMDD; postcodes as given, upper case, and without their space. Folders are searched file
by file (bytes, so binary leftovers are searched too).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def _forms(nhs_numbers: Iterable[str], birth_dates: Iterable[str], postcodes: Iterable[str] = ()) -> list[str]:
    forms: list[str] = []
    for p in postcodes:
        forms += sorted({p, p.upper(), p.upper().replace(" ", "")})
    for n in nhs_numbers:
        forms += [n, f"{n[:3]} {n[3:6]} {n[6:]}"]
    for d in birth_dates:
        y, m, day = d.split("-")
        forms += [d, f"{day}/{m}/{y}", f"{y}{m}{day}"]
    return forms


def _texts(item: str | Path) -> Iterable[tuple[str, str]]:
    """(where, text) for a string, a file or every file under a folder."""
    if isinstance(item, Path):
        files = [item] if item.is_file() else sorted(p for p in item.rglob("*") if p.is_file()) if item.is_dir() else []
        for f in files:
            yield str(f), f.read_bytes().decode("latin-1")
    else:
        yield "output text", item


def assert_no_patient_data(text_or_paths: str | Path | Iterable[str | Path], nhs_numbers: Iterable[str],
                           birth_dates: Iterable[str], postcodes: Iterable[str] = ()) -> None:
    """Fail naming where the first NHS number, birth date or postcode of the input was found (never the value
    itself in full: the assertion message is output too)."""
    items = [text_or_paths] if isinstance(text_or_paths, (str, Path)) else list(text_or_paths)
    forms = _forms(nhs_numbers, birth_dates, postcodes)
    assert forms, "no identifiers to look for: the check could not fail"
    for item in items:
        for where, text in _texts(item):
            for form in forms:
                if form in text:
                    raise AssertionError(f"patient identifier ({len(form)} characters, starting {form[:3]}) "
                                         f"found in {where}")
