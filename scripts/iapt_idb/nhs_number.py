"""NHS numbers, one implementation for the generator, the docs site and the tests: the modulus-11 check
digit, validation, and synthetic numbers from the test range.

An NHS number is ten digits; the tenth is a check digit computed from the first nine
(weights 10..2, ``11 - (sum mod 11)``; 11 becomes 0; 10 means the nine digits can never
form a valid number). Synthetic data only ever uses the range reserved for testing,
999 000 0000 - 999 999 9999.
"""

from __future__ import annotations

import numpy as np

TEST_PREFIX = 999
_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)  # 10, 9, ..., 2
# A prime larger than the count of usable bases, so (i * STEP + offset) mod count is a bijection.
_STEP = 1_000_003


def check_digit(nine_digits: str) -> int | None:
    """The check digit of the first nine digits, or None when no valid number exists (remainder 10)."""
    if len(nine_digits) != 9 or not nine_digits.isdigit():
        raise ValueError("check_digit needs exactly nine digits")
    total = sum(int(d) * w for d, w in zip(nine_digits, range(10, 1, -1)))
    c = 11 - total % 11
    if c == 11:
        return 0
    return None if c == 10 else c


def is_valid(value: str | None) -> bool:
    """True for a ten-digit string that the national platform accepts (rule IDSREJ006).

    The last digit must be the modulus-11 check digit of the first nine, and the first five digits
    must not be the last five reversed (the platform refuses such numbers although mod-11 holds).
    """
    if value is None or len(value) != 10 or not value.isdigit():
        return False
    if value[:5] == value[5:][::-1]:
        return False
    return check_digit(value[:9]) == int(value[9])


def _check_digits(bases: np.ndarray) -> np.ndarray:
    """Vectorised check digits of nine-digit integers; -1 where none exists."""
    digits = (bases[:, None] // (10 ** np.arange(8, -1, -1, dtype=np.int64))) % 10
    c = 11 - (digits @ _WEIGHTS) % 11
    c = np.where(c == 11, 0, c)
    return np.where(c == 10, -1, c)


def _usable_test_bases() -> np.ndarray:
    """All nine-digit prefixes 999xxxxxx that give a number the platform accepts (about 909,000)."""
    bases = TEST_PREFIX * 1_000_000 + np.arange(1_000_000, dtype=np.int64)
    checks = _check_digits(bases)
    bases, checks = bases[checks >= 0], checks[checks >= 0]
    full = bases * 10 + checks
    # Leave out numbers whose first five digits are the last five reversed: IDSREJ006 refuses them.
    last5 = full % 100_000
    reversed_last5 = sum(((last5 // 10**i) % 10) * 10 ** (4 - i) for i in range(5))
    return bases[full // 100_000 != reversed_last5]


_BASES: np.ndarray | None = None


def capacity() -> int:
    """How many distinct valid NHS numbers the test range holds."""
    return len(_bases())


def _bases() -> np.ndarray:
    global _BASES
    if _BASES is None:
        _BASES = _usable_test_bases()
    return _BASES


def numbers_for(indices: np.ndarray, offset: int) -> np.ndarray:
    """Distinct valid test-range NHS numbers (as 10-digit strings) for distinct person indices.

    The index -> number mapping is a bijection scrambled by ``offset`` (derived from the seed),
    so the same person index and seed always get the same number, whatever the chunking.
    """
    bases = _bases()
    n = len(bases)
    pos = (indices.astype(np.int64) * _STEP + int(offset)) % n
    chosen = bases[pos]
    full = chosen * 10 + _check_digits(chosen)
    return full.astype("U10").astype(object)


def spoil(valid_number: str, how: int) -> str:
    """An invalid variant of a valid number: how=0 wrong check digit, 1 nine digits, 2 eleven digits."""
    if how == 0:
        wrong = (int(valid_number[9]) + 1 + (int(valid_number[8]) % 8)) % 10
        candidate = valid_number[:9] + str(wrong)
        if is_valid(candidate):  # cannot happen (only one check digit is right), kept as a guard
            candidate = valid_number[:9] + str((wrong + 1) % 10)
        return candidate
    if how == 1:
        return valid_number[:9]
    return valid_number + "0"


def numbers_or_none(indices: np.ndarray, offset: int, missing: np.ndarray) -> np.ndarray:
    """``numbers_for``, with None where ``missing`` is set and for every index past ``capacity()``: the test
    range has no further distinct valid number, and a person beyond it is recorded without one (as an
    untraced patient is), never with another person's number."""
    numbers = numbers_for(indices, offset)
    return np.where(missing | (indices >= capacity()), None, numbers)
