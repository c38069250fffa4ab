"""Shared state of one generator run: the dates it is centred on, code sets and key counters."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..periods import parse_period
from .gen_codes import CodeSet

DAY = np.timedelta64(1, "D")
HISTORY_MONTHS = 24  # referrals start up to this many months before the period end
EXTRACT_LAG_DAYS = 21  # the CMS extract is taken this long after the period end


@dataclass
class Dates:
    period_start: np.datetime64
    period_end: np.datetime64
    window_start: np.datetime64  # earliest referral
    extract: np.datetime64  # nothing happens after this day

    @classmethod
    def for_period(cls, period: str) -> "Dates":
        start, end = parse_period(period)
        y, m = start.year, start.month - (HISTORY_MONTHS - 1)
        while m <= 0:
            y, m = y - 1, m + 12
        window = np.datetime64(f"{y:04d}-{m:02d}-01")
        pe = np.datetime64(end.isoformat())
        return cls(np.datetime64(start.isoformat()), pe, window, pe + EXTRACT_LAG_DAYS * DAY)


@dataclass
class Counters:
    """Running surrogate-key counters; blocks are generated in order, so keys do not depend on chunking."""

    next_id: dict[str, int] = field(default_factory=dict)

    def take(self, name: str, n: int) -> np.ndarray:
        start = self.next_id.get(name, 1)
        self.next_id[name] = start + n
        return np.arange(start, start + n, dtype=np.int64)


@dataclass
class Context:
    dates: Dates
    codes: dict[str, CodeSet]
    n_staff: int
    nhs_offset: int
    counters: Counters = field(default_factory=Counters)


def days(values: np.ndarray | float) -> np.ndarray:
    """Float/int day counts -> timedelta64[D] (floored)."""
    return np.floor(np.asarray(values)).astype(np.int64) * DAY


def weighted(rng: np.random.Generator, n: int, weights: dict[object, float]) -> np.ndarray:
    """Sample n keys of ``weights`` with the given (unnormalised) probabilities."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    idx = rng.choice(len(keys), size=n, p=p / p.sum())
    return np.array(keys, dtype=object)[idx]


def padded_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + zero-padded numbers as an object array of text (empty input gives an empty array)."""
    numbers = np.asarray(numbers)
    if not len(numbers):
        return np.empty(0, dtype=object)
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width)).astype(object)


def group_positions(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given sizes: (group index of every row, position of the row in its group)."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(counts.sum()) - np.repeat(starts, counts)
    return owner, pos
