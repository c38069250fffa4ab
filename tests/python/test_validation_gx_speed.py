"""The GX phase's speed-ups (issue 7) change nothing GX reports: the not_blank regex shortcut, the memoised
expectation configurations, kwargs ids and metric kwargs, the precomputed batch fingerprints, the unsaved
ephemeral config and the column-pruned Arrow reads give the same results as plain GX, offline."""

from __future__ import annotations

import contextlib
import json
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


def _frames() -> list[pd.DataFrame]:
    text = pd.Series(TRICKY + NON_ASCII + [None], dtype="str")
    return [
        pd.DataFrame({"a": text, "b": text[::-1].reset_index(drop=True)}),
        pd.DataFrame({"a": pd.Series([None, None], dtype="str")}),
        pd.DataFrame({"a": pd.Series([], dtype="str")}),
        pd.DataFrame({"n": [1, 2, 3], "f": [0.0, -0.0, float("nan")], "o": ["x", None, "y"]}),
        pd.DataFrame({"a": text}).iloc[3:9],
    ]


def test_fingerprint_is_gxs_and_taken_once_for_the_same_frame() -> None:
    from great_expectations.execution_engine import pandas_execution_engine as engine

    original = engine.hash_pandas_dataframe
    for df in _frames():
        assert gx_speed.pandas_fingerprint(df) == original(df)
    fingerprints = gx_speed.Fingerprints()
    known, copy = _frames()[0], _frames()[0]
    fingerprints.add(known)
    calls: list[Any] = []

    def spy(df: Any) -> str:
        calls.append(df)
        return original(df)

    engine.hash_pandas_dataframe = spy
    try:
        with gx_speed.precomputed_fingerprints(fingerprints) as active:
            assert active and engine.hash_pandas_dataframe is not spy
            assert len(calls) == 1  # the probe frame GX's fingerprint is checked on
            calls.clear()
            with gx_speed.precomputed_fingerprints(gx_speed.Fingerprints()) as nested:
                assert not nested  # one block at a time: the inner one leaves it to the outer
            assert engine.hash_pandas_dataframe(known) == original(known) and calls == []  # precomputed
            assert engine.hash_pandas_dataframe(copy) == original(known) and calls == [copy]  # equal, not same
            assert engine.hash_pandas_dataframe(known) == original(known) and calls == [copy, known]  # once
        assert engine.hash_pandas_dataframe is spy
    finally:
        engine.hash_pandas_dataframe = original
    frames = _frames()[:3]
    held = gx_speed.Fingerprints(keep=2)
    for df in frames:
        held.add(df)
    assert held.take(frames[0]) is None and held.take(frames[2]) == original(frames[2])  # at most two held
    held.close()
    held.add(frames[0])
    assert held.take(frames[0]) is None and held.take(frames[1]) is None  # closed: none held


def test_unsaved_ephemeral_config_ends_with_what_gx_saves() -> None:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    variables = context.variables
    backend = variables.store._store_backend._store
    saves: list[str] = []
    with gx_speed.unsaved_ephemeral_config(context) as active:
        assert active and "save" in vars(variables)
        with gx_speed.unsaved_ephemeral_config(context) as nested:
            assert not nested
        source = context.data_sources.add_pandas("s")
        source.add_dataframe_asset("t").add_batch_definition_whole_dataframe("whole")
        saves.append(backend.get(("data_context_variables",), ""))
    assert "save" not in vars(variables)
    stored = backend[("data_context_variables",)]
    variables.save()  # what GX itself stores for this config
    assert stored == backend[("data_context_variables",)] and "tos_data_docs" not in stored
    assert saves == [""]  # nothing was serialised inside the block
    with gx_speed.unsaved_ephemeral_config(object()) as other:
        assert not other


def _id_dicts() -> list[Any]:
    from great_expectations.core.id_dict import IDDict, MetricKwargs

    return [IDDict(), IDDict(a=1), IDDict(a=True), IDDict(a="1"), IDDict(a=None, b="x"), IDDict(b="x", a=None),
            IDDict(a=1, b=True), IDDict(a=True, b=1), IDDict(a=0.0, b=1), IDDict(a=-0.0, b=1),
            IDDict(batch_id="t", column="c", condition_parser=None, row_condition=None, table=None),
            IDDict(value_set=["a", "b"], result_format={"result_format": "BASIC"}), MetricKwargs(a="x", b=2)]


def test_memoised_id_dict_ids_are_gxs() -> None:
    from great_expectations.core.id_dict import IDDict

    original = IDDict.__dict__["to_id"]
    expected = [(d.to_id(), d.to_id(id_keys=["a"]) if "a" in d else None, d.to_id(id_ignore_keys=["b"]))
                for d in _id_dicts()]
    with gx_speed.memoized_id_dict_ids() as active:
        assert active
        for _ in range(2):  # first answers, then the kept ones
            got = [(d.to_id(), d.to_id(id_keys=["a"]) if "a" in d else None, d.to_id(id_ignore_keys=["b"]))
                   for d in _id_dicts()]
            assert got == expected
        with pytest.raises(KeyError):
            IDDict(a=1).to_id(id_keys=["a", "zz"])
        with gx_speed.memoized_id_dict_ids():
            assert IDDict.__dict__["to_id"] is not original
    assert IDDict.__dict__["to_id"] is original


def test_memoised_metric_kwargs_are_gxs_and_fresh() -> None:
    import great_expectations as gx
    from great_expectations.expectations import expectation as module

    gx.get_context(mode="ephemeral")
    original = module.get_metric_kwargs
    runtime = {"result_format": {"result_format": "BASIC", "partial_unexpected_count": 20}}
    expectations = [e for r in gxmod.gx_rules() for e in gxmod.expectations_for(r, PERIOD)]
    expectations += [gxmod.expectations_for(r, PERIOD)[0] for r in gxmod.gx_rules()[:3]]  # equal twins
    calls = [(n, e.configuration, rc) for e in expectations for rc in (None, runtime)
             for n in ("table.row_count", "column_values.nonnull.unexpected_count", f"{e.map_metric}.unexpected_count",
                       f"{e.map_metric}.unexpected_values", f"{e.map_metric}.condition")]
    expected = [original(metric_name=n, configuration=c, runtime_configuration=rc) for n, c, rc in calls]
    asked: list[str] = []

    def spy(**kwargs: Any) -> Any:
        asked.append(kwargs["metric_name"])
        return original(**kwargs)

    module.get_metric_kwargs = spy
    with contextlib.ExitStack() as restore:
        restore.callback(setattr, module, "get_metric_kwargs", original)
        with gx_speed.memoized_metric_kwargs() as active:
            assert active and module.get_metric_kwargs is not spy
            for round in range(2):
                got = [module.get_metric_kwargs(metric_name=n, configuration=c, runtime_configuration=rc)
                       for n, c, rc in calls]
                assert got == expected
                assert [type(v) for g in got for v in g.values()] == [type(v) for e in expected for v in e.values()]
                if round == 0:  # GX asked once per distinct input (the twins and repeated metric names)
                    assert len(asked) == len({(n, json.dumps(c.to_json_dict()), json.dumps(rc)) for n, c, rc in calls})
                    assert len(asked) < len(calls)
                    asked.clear()
            assert asked == []  # second round: all kept answers
            value_set = got[-1]["metric_value_kwargs"].get("value_set") or []
            value_set.append("zzz")  # a caller changing its answer changes nothing else
            again = module.get_metric_kwargs(metric_name=calls[-1][0], configuration=calls[-1][1],
                                             runtime_configuration=calls[-1][2])
            assert again == expected[-1] and again["metric_domain_kwargs"] is not got[-1]["metric_domain_kwargs"]
            with pytest.raises(Exception, match="No definition found"):
                module.get_metric_kwargs(metric_name="no.such.metric", configuration=calls[0][1])
        assert module.get_metric_kwargs is spy
    assert module.get_metric_kwargs is original


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


_VOLATILE = {"id", "run_id", "validation_time", "validation_id", "ge_load_time"}  # per run: times, uuids
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMES = re.compile(r"\d{8}T\d{6}\.\d{6}Z|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(\+00:00| UTC)?|"
                    r"'_run_time_sort': [0-9.]+")


def _stable(value: Any) -> Any:
    """A validation result's JSON without what differs from run to run (times, ids)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _docs(root: Path) -> dict[str, str]:
    """The data docs pages, with run times and generated ids masked."""
    return {_TIMES.sub("T", str(p.relative_to(root))): _TIMES.sub("T", _UUID.sub("U", p.read_text()))
            for p in sorted(root.rglob("*.html"))}


_SPEEDUPS = ("blank_regex_on_arrow", "memoized_expectation_configuration", "memoized_id_dict_ids",
             "memoized_metric_kwargs", "unsaved_ephemeral_config", "precomputed_fingerprints")


def test_run_gx_same_results_with_and_without_speedups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from great_expectations.core.validation_definition import ValidationDefinition

    db = tmp_path / "tiny.duckdb"
    _tiny_db(db)

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"GX tried the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    results: dict[str, list[Any]] = {"fast": [], "plain": []}
    run = ValidationDefinition.run
    mode = "fast"

    def recording_run(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = run(self, *args, **kwargs)
        results[mode].append(_stable(result.to_json_dict()))
        return result

    monkeypatch.setattr(ValidationDefinition, "run", recording_run)
    active: list[str] = []
    for name in _SPEEDUPS:  # record which speed-ups were in place in the fast run
        def probe(*args: Any, _name: str = name, _cm: Any = getattr(gxmod, name), **kwargs: Any) -> Any:
            @contextlib.contextmanager
            def cm() -> Any:
                with _cm(*args, **kwargs) as on:
                    if on:
                        active.append(_name)
                    yield on
            return cm()
        monkeypatch.setattr(gxmod, name, probe)
    timings: dict[str, float] = {}
    fast = gxmod.run_gx(db, tmp_path / "fast", PERIOD, timings=timings)
    assert set(active) == set(_SPEEDUPS)
    # GX's seconds go to the caller's dict, never into the result (which summary.json holds)
    assert set(timings) == {"import_s", "suites_s", "data_docs_s"} and min(timings.values()) >= 0

    mode = "plain"
    for name in _SPEEDUPS:
        monkeypatch.setattr(gxmod, name, lambda *args, **kwargs: contextlib.nullcontext(False))
    monkeypatch.setattr(gx_speed.Fingerprints, "add", lambda self, df: None)
    plain = gxmod.run_gx(db, tmp_path / "plain", PERIOD)

    assert fast == plain
    assert fast["expectations"] == sum(len(gxmod.expectations_for(r, PERIOD)) for r in gxmod.gx_rules())
    assert fast["failures_by_rule"] and fast["success"] is False
    # every expectation's result, the batch markers (fingerprint included) and the data docs pages
    assert len(results["fast"]) == fast["suites"] and results["fast"] == results["plain"]
    assert all(r["meta"]["batch_markers"]["pandas_data_fingerprint"] for r in results["fast"])
    assert _docs(tmp_path / "fast" / "gx_data_docs") == _docs(tmp_path / "plain" / "gx_data_docs")
    for name in ("fast", "plain"):
        docs = tmp_path / name / "gx_data_docs"
        assert (docs / "index.html").exists()
        assert len(list((docs / "validations").rglob("*.html"))) == fast["suites"]
