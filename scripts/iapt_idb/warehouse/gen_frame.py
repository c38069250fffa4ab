"""Column containers for generated rows, and their conversion to Arrow for the DuckDB insert.

A generated table is ``dict[column name, column]`` where a column is one of:

* a numpy array: ``object`` (text, None = null), ``datetime64[D]``/``datetime64[s]`` (NaT = null),
  ``float64`` (integers with NaN = null), ``int64``/``int32``, ``bool``;
* :class:`Coded` - indices into a code set's dictionary (-1 = null), written as text;
* :class:`Ids` - integers rendered as ``prefix + zero-padded number`` (-1 = null), so millions of
  identifiers are never Python strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .gen_codes import CodeSet


@dataclass
class Coded:
    idx: np.ndarray
    codes: CodeSet

    def take(self, rows: np.ndarray) -> "Coded":
        return Coded(self.idx[rows], self.codes)

    def values(self) -> np.ndarray:
        """Local codes as text (object array); None for null."""
        lookup = np.array(self.codes.dictionary + [None], dtype=object)
        return lookup[np.where(self.idx < 0, len(lookup) - 1, self.idx)]


@dataclass
class Ids:
    num: np.ndarray
    prefix: str
    width: int

    def take(self, rows: np.ndarray) -> "Ids":
        return Ids(self.num[rows], self.prefix, self.width)

    def text(self, n: int) -> str:
        return f"{self.prefix}{n:0{self.width}d}"


Rows = dict  # column name -> column (numpy array, Coded or Ids)


def n_rows(rows: Rows) -> int:
    first = next(iter(rows.values()))
    return len(first.idx if isinstance(first, Coded) else first.num if isinstance(first, Ids) else first)


def take(rows: Rows, idx: np.ndarray) -> Rows:
    return {k: (v.take(idx) if isinstance(v, (Coded, Ids)) else v[idx]) for k, v in rows.items()}


def concat(parts: list[Rows]) -> Rows:
    parts = [p for p in parts if p and n_rows(p)]
    if not parts:
        return {}
    out: Rows = {}
    for k, v in parts[0].items():
        if isinstance(v, Coded):
            out[k] = Coded(np.concatenate([p[k].idx for p in parts]), v.codes)
        elif isinstance(v, Ids):
            out[k] = Ids(np.concatenate([p[k].num for p in parts]), v.prefix, v.width)
        else:
            out[k] = np.concatenate([p[k] for p in parts])
    return out


def _arrow(col: object) -> pa.Array:
    if isinstance(col, Coded):
        idx = pa.array(col.idx, mask=col.idx < 0, type=pa.int32())
        return pa.DictionaryArray.from_arrays(idx, pa.array(col.codes.dictionary, type=pa.string()))
    if isinstance(col, Ids):
        num = pa.array(col.num, mask=col.num < 0, type=pa.int64())
        padded = pc.utf8_lpad(pc.cast(num, pa.string()), width=col.width, padding="0")
        return pc.binary_join_element_wise(pa.scalar(col.prefix), padded, "")
    arr = np.asarray(col)
    if arr.dtype == object:
        return pa.array(arr, type=pa.string(), from_pandas=True)
    return pa.array(arr, from_pandas=True)


def to_arrow(rows: Rows, column_order: list[str]) -> pa.Table:
    missing = [c for c in column_order if c not in rows]
    if missing:
        raise KeyError(f"generated rows lack columns {missing}")
    return pa.table({c: _arrow(rows[c]) for c in column_order})
