"""Local code sets for the generator, read at run time from the mapping seeds (one source of truth).

``source_systems/lumen_cms/mappings/map_<code_set>.csv`` lists each valid local code and the national code it maps
to. The generator thinks in national meanings (e.g. "attended" = national 5) and turns them into
local codes here, so a changed seed changes the generated data without touching this package.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import schema

# Values a legacy system might still hold; each is used only if absent from the seed.
_UNMAPPED_CANDIDATES = ("LEGACY7", "OLD_CODE", "X-99", "TBC", "LEGACY12", "ZZOLD")


class MappingSeedError(Exception):
    """A mapping seed is missing or holds no usable local codes."""


@dataclass
class CodeSet:
    """One local code set: ``dictionary`` = valid local codes, then a few unmapped ones."""

    name: str
    locals_: tuple[str, ...]
    nationals: tuple[str, ...]  # national code of each local code, same order
    unmapped: tuple[str, ...]

    @property
    def dictionary(self) -> list[str]:
        return list(self.locals_) + list(self.unmapped)

    @property
    def n_valid(self) -> int:
        return len(self.locals_)

    def national_of(self, idx: np.ndarray) -> np.ndarray:
        """National code (object array) for local-code indices; None for null/unmapped."""
        lookup = np.array(list(self.nationals) + [None] * (len(self.unmapped) + 1), dtype=object)
        safe = np.where((idx < 0) | (idx >= self.n_valid), len(lookup) - 1, idx)
        return lookup[safe]

    def locals_for(self, national: str) -> list[int]:
        return [i for i, n in enumerate(self.nationals) if n == national]

    def sample(self, rng: np.random.Generator, n: int, weights: dict[str, float] | None = None) -> np.ndarray:
        """Local-code indices for n rows. ``weights`` are by national code; codes not named get 0.

        Without weights every valid local code is equally likely. Where several local codes map to
        one national code, they share its weight equally.
        """
        p = self.probabilities(weights)
        return rng.choice(self.n_valid, size=n, p=p).astype(np.int32)

    def probabilities(self, weights: dict[str, float] | None) -> np.ndarray:
        if not weights:
            return np.full(self.n_valid, 1.0 / self.n_valid)
        p = np.zeros(self.n_valid)
        for national, w in weights.items():
            idx = self.locals_for(national)
            for i in idx:
                p[i] += w / len(idx)
        if p.sum() <= 0:  # the seed has none of the intended meanings: fall back to uniform
            return np.full(self.n_valid, 1.0 / self.n_valid)
        return p / p.sum()

    def pick(self, rng: np.random.Generator, choice: np.ndarray, options: list[dict[str, float]]) -> np.ndarray:
        """Per row, sample with the weights ``options[choice[row]]`` (e.g. by pathway stage)."""
        out = np.empty(len(choice), dtype=np.int32)
        for k, weights in enumerate(options):
            mask = choice == k
            if mask.any():
                out[mask] = self.sample(rng, int(mask.sum()), weights)
        return out

    def unmapped_index(self, k: int = 0) -> int:
        return self.n_valid + (k % len(self.unmapped))

    def is_valid_local(self, value: str | None) -> bool:
        return value in set(self.locals_)


def read_seed(path: Path, name: str) -> CodeSet:
    locals_: list[str] = []
    nationals: list[str] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            local = (row.get("local_code") or "").strip()
            national = (row.get("national_code") or "").strip()
            if local and national and local not in locals_:
                locals_.append(local)
                nationals.append(national)
    if not locals_:
        raise MappingSeedError(f"mapping seed {path} holds no mapped local codes")
    unmapped = tuple(c for c in _UNMAPPED_CANDIDATES if c not in locals_)
    return CodeSet(name, tuple(locals_), tuple(nationals), unmapped)


def load_code_sets(mapping_dir: Path) -> dict[str, CodeSet]:
    """Every code set the CMS schema uses, from ``map_<code_set>.csv``; a missing seed is an error."""
    missing = [c for c in schema.CODE_SETS if not (mapping_dir / f"map_{c}.csv").exists()]
    if missing:
        raise MappingSeedError(
            f"mapping seeds missing in {mapping_dir}: " + ", ".join(f"map_{c}.csv" for c in missing)
        )
    return {c: read_seed(mapping_dir / f"map_{c}.csv", c) for c in schema.CODE_SETS}
