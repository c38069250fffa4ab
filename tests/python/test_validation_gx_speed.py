"""The GX phase's speed-ups (issue 7) change nothing GX reports: the not_blank regex shortcut, the memoised
expectation configurations and the column-pruned Arrow reads give the same results as plain GX, offline."""

from __future__ import annotations

import contextlib
import re
import socket
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from iapt_idb.validation import gx as gxmod
from iapt_idb.validation import gx_speed
from iapt_idb.validation.report import SCHEMA
from iapt_idb.validation.tables import meta

PERIOD = "2026-10"
TRICKY = ["", " ", "  ", "a", " a ", "\t\x0b\x0c\r", "\x1c\x1d\x1e\x1f", "\x1b", "\n", " \n", "a\n", "\n\n", "x y", "01"]
NON_ASCII = ["\x85", "\xa0", "\u2003", "\u3000 ", "é"]


def test_blank_class_is_pythons_ascii_whitespace() -> None:
    for c in map(chr, range(128)):
        assert bool(re.fullmatch(r"\s", c)) == bool(re.fullmatch(gx_speed.BLANK_ASCII[1:-2], c)), repr(c)


@pytest.mark.parametrize("values", [TRICKY, TRICKY + NON_ASCII, [v for v in TRICKY if "\n" not in v], [None, " "]],
                         ids=["ascii", "non_ascii", "no_newline", "nulls"])
def test_blank_regex_shortcut_matches_python_re(values: list[Any]) -> None:
    from pandas.core.arrays.string_arrow import ArrowStringArray

    original = ArrowStringArray.__dict__["_str_contains"]
    s = pd.Series(values + [None], dtype="str")
    plain = s.str.contains(gx_speed.BLANK)
    with gx_speed.blank_regex_on_arrow() as active:
        fast = s.str.contains(gx_speed.BLANK)
        other = s.str.contains(r"^\s+$")  # any other pattern: untouched
    assert active
    assert ArrowStringArray.__dict__["_str_contains"] is original
    assert fast.tolist() == plain.tolist() and fast.dtype == plain.dtype
    assert other.tolist() == s.str.contains(r"^\s+$").tolist()
    expected = [v is not None and re.search(gx_speed.BLANK, v) is not None for v in values + [None]]
    assert fast.tolist() == expected


def test_memoised_configuration_is_equal_fresh_and_follows_changes() -> None:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.expectation import Expectation

    gx.get_context(mode="ephemeral")
    e = gxe.ExpectColumnValuesToBeInSet(column="c", value_set=["a", "b"], meta={"rule_code": "X1"})
    before = e.configuration.to_json_dict()
    prop = Expectation.__dict__["configuration"]
    with gx_speed.memoized_expectation_configuration() as active:
        first, second = e.configuration, e.configuration
        assert active and first is not second and first.kwargs is not second.kwargs
        assert first.to_json_dict() == second.to_json_dict() == before
        second.kwargs["value_set"].append("zzz")  # a caller changing its copy changes nothing else
        assert e.configuration.to_json_dict() == before
        e.value_set = ["q"]  # the expectation itself changing is seen
        assert e.configuration.kwargs["value_set"] == ["q"]
        with gx_speed.memoized_expectation_configuration(), gx_speed.blank_regex_on_arrow():  # nested: no-op
            assert e.configuration.kwargs["value_set"] == ["q"]
        assert Expectation.__dict__["configuration"] is not prop
    assert Expectation.__dict__["configuration"] is prop


def _tiny_db(path: Path) -> None:
    """Every tos_norm_* table the GX suites read, all text, with good, blank, null, short and odd values."""
    con = duckdb.connect(str(path))
    con.execute(f"create schema {SCHEMA}")
    samples = ["", " ", None, "1", "01", "ZZZZZZZZZZZZZZZZZZZZZZZZ", "A01", "2026-10-01", "\x1c", "\xa0", "AB12 3CD"]
    for table in sorted({r["table_name"] for r in gxmod.gx_rules()}):
        m = meta(table)
        cols = ", ".join(f'"{c}" varchar' for c in m.columns)
        con.execute(f"create table {SCHEMA}.tos_norm_{m.table_id.lower()} (tos_row_id bigint, {cols})")
        rows = [[i] + [samples[(i + j) % len(samples)] for j in range(len(m.columns))] for i in range(40)]
        con.executemany(f"insert into {SCHEMA}.tos_norm_{m.table_id.lower()} values ({', '.join('?' * (len(m.columns) + 1))})",
                        rows)
    con.close()


def test_run_gx_same_results_with_and_without_speedups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "tiny.duckdb"
    _tiny_db(db)

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"GX tried the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    fast = gxmod.run_gx(db, tmp_path / "fast", PERIOD)

    monkeypatch.setattr(gxmod, "blank_regex_on_arrow", lambda: contextlib.nullcontext(False))
    monkeypatch.setattr(gxmod, "memoized_expectation_configuration", lambda: contextlib.nullcontext(False))
    plain = gxmod.run_gx(db, tmp_path / "plain", PERIOD)

    assert fast == plain
    assert fast["expectations"] == sum(len(gxmod.expectations_for(r, PERIOD)) for r in gxmod.gx_rules())
    assert fast["failures_by_rule"] and fast["success"] is False
    for name in ("fast", "plain"):
        docs = tmp_path / name / "gx_data_docs"
        assert (docs / "index.html").exists()
        assert len(list((docs / "validations").rglob("*.html"))) == fast["suites"]
