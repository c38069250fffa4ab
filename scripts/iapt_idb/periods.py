"""Reporting periods: one calendar month, first to last day."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable

_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
# The years a reporting period may be in: wide enough for any submission and the tests, narrow enough that
# 9999-12 or a typo such as 0226-10 is refused rather than carried into date arithmetic.
MIN_YEAR, MAX_YEAR = 2000, 2100


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """'2026-10' -> (2026-10-01, 2026-10-31). Raises ValueError with a clear message."""
    m = _PERIOD.fullmatch(text or "")
    if not m:
        raise ValueError(f"reporting period must be YYYY-MM (for example 2026-10), got {text!r}")
    year, month = int(m.group(1)), int(m.group(2))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"reporting period {text}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


# Months before and after a period that compiled SQL written for every month must not name: a literal of one
# of them means the SQL depends on the month it was compiled for.
NEAR_MONTHS = (-36, 12)


def months_written_near(period: str, texts: Iterable[str]) -> list[str]:
    """The months within NEAR_MONTHS of ``period`` written (YYYY-MM, as in a date) in any of ``texts``."""
    year, month = (int(x) for x in period.split("-"))
    near = set()
    for delta in range(NEAR_MONTHS[0], NEAR_MONTHS[1] + 1):
        y, m = divmod(year * 12 + month - 1 + delta, 12)
        near.add(f"{y:04d}-{m + 1:02d}")
    found = {m for text in texts for m in re.findall(r"(?<!\d)\d{4}-\d\d(?!\d)", text)}
    return sorted(found & near)


def period_arg(text: str) -> str:
    """argparse type for --period."""
    import argparse

    try:
        parse_period(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
