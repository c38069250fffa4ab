"""What must hold whatever the input: metamorphic and mutation tests of the validator.

Metamorphic (a generated month): the verdict and the failures are the same whether the month is validated as
the built marts, as the CSV folder written from them, or as the exported .accdb; padding every text value with
white space (the platform strips it before any rule runs) or reversing the order of the rows changes nothing.

Mutation (the hand-made valid IDB of validation_fixtures): one field at a time is changed in its own family of
records, across all 21 tables: blanked, given an out-of-list code, made too long, padded with white space, given
a malformed or an out-of-order date, orphaned, duplicated. Whatever the rules say about each, these invariants
hold: no crash; exit 1 exactly when a file-rejection code is reported; no row is kept whose parent is not kept
(the cascade); a change of white space alone changes nothing.
"""

from __future__ import annotations

import copy
import csv
import re
import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

import validation_fixtures as vf
from conftest import isolated_env, run_cli
from iapt_idb.spec import load_tables
from iapt_idb.validation.tables import CODE_LISTS, table_meta

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)

META = {m.name: m for m in table_meta()}
MAX_LENGTH = {(t.name, c.name): c.max_length for t in load_tables() for c in t.columns}
PAD = "  "


def _validate(work: Path, source: Path | None, report: Path, env: dict[str, str]) -> tuple[int, list[dict[str, Any]],
                                                                                          dict[str, Any]]:
    source_args = [str(source)] if source else ["--target-db", env["IAPT_TARGET_DB"]]
    args = ["validate", *source_args, "--period", vf.PERIOD, "--report", str(report), "--no-gx",
            "--provider-ods", vf.PROVIDER]
    proc = run_cli(args, env)
    assert proc.returncode in (0, 1), f"validate crashed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    failures = json.loads((report / "validation_report.json").read_text(encoding="utf-8"))
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    file_rejects = [f for f in failures if f["severity"] == "file_reject"]
    assert (proc.returncode == 1) == bool(file_rejects), (proc.returncode, file_rejects[:3])
    return proc.returncode, failures, summary


def _findings(failures: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return sorted((f["rule_code"], f["severity"], f["table"], f["record_key"], f["message"]) for f in failures)


def _text(value: Any) -> str:
    """A typed mart value in the data set's text format, as the CSV form of the IDB holds it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _marts_to_csv(target_db: Path, folder: Path, pad: bool = False, reverse: bool = False,
                  drop: dict[str, set[int]] | None = None) -> Path:
    folder.mkdir(parents=True)
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        for m in table_meta():
            cols = ", ".join(f'"{c}"' for c in m.columns)
            rows = con.execute(f'select {cols} from main."{m.name}" order by rowid').fetchall()
            rows = [r for i, r in enumerate(rows) if i not in (drop or {}).get(m.name, set())]
            if reverse:
                rows.reverse()
            with (folder / f"{m.name}.csv").open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(m.columns)
                for row in rows:
                    w.writerow([
                        (PAD + _text(v) + PAD) if pad and t == "string" and v not in (None, "") else _text(v)
                        for v, t in zip(row, m.types)
                    ])
    finally:
        con.close()
    return folder


@pytest.mark.java
def test_marts_csv_and_accdb_of_one_month_get_the_same_findings(built_marts, tmp_path: Path) -> None:
    from iapt_idb.accdb.writer import export_idb

    env = isolated_env(tmp_path, warehouse=built_marts.warehouse, target_db=built_marts.target_db)
    # the marts are validated from a copy, so this test never writes into the shared session fixture
    marts = tmp_path / built_marts.target_db.name  # the built DB's name: its validation plan is compiled once a session
    shutil.copyfile(built_marts.target_db, marts)
    env["IAPT_TARGET_DB"] = str(marts)
    code, failures, summary = _validate(tmp_path, None, tmp_path / "r_marts", env)
    expected = _findings(failures)
    assert expected, "the generated month holds defects: some findings are expected"

    # the .accdb holds the storable rows: validating it must equal validating those same rows as CSV
    accdb = tmp_path / "IDB.accdb"
    manifest = export_idb(marts, accdb, built_marts.period, progress=False, skip_unstorable=True)
    left_out: dict[str, set[int]] = {}
    if manifest.get("excluded_file"):
        with (accdb.parent / Path(manifest["excluded_file"]).name).open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                left_out.setdefault(row["table"], set()).add(int(row["row"]))
    sources = {
        "csv": _marts_to_csv(marts, tmp_path / "csv"),
        "csv padded with white space": _marts_to_csv(marts, tmp_path / "csv_pad", pad=True),
        "csv with rows reversed": _marts_to_csv(marts, tmp_path / "csv_rev", reverse=True),
    }
    for name, source in sources.items():
        got_code, got, got_summary = _validate(tmp_path, source, tmp_path / f"r_{name.replace(' ', '_')}", env)
        assert got_code == code, name
        assert got_summary["predicted_outcome"] == summary["predicted_outcome"], name
        assert _findings(got) == expected, name
    storable = _marts_to_csv(marts, tmp_path / "csv_storable", drop=left_out)
    _, from_csv, csv_summary = _validate(tmp_path, storable, tmp_path / "r_storable", env)
    _, from_accdb, accdb_summary = _validate(tmp_path, accdb, tmp_path / "r_accdb", env)
    assert accdb_summary["predicted_outcome"] == csv_summary["predicted_outcome"]
    assert _findings(from_accdb) == _findings(from_csv)


# ------------------------------------------------------------------------------------------------
# mutation: one field at a time, each in its own family
# ------------------------------------------------------------------------------------------------

def _out_of_list(column: str, current: str | None) -> str | None:
    codes = vf._codes(CODE_LISTS[column])
    return vf._not_in(codes, len(current or "XX"))


def _mutations(table: str, column: str, col_type: str, value: str | None) -> dict[str, Callable[[str | None], Any]]:
    """name -> how to change the family's own value of one column (``value``: the template family's)."""
    out: dict[str, Callable[[str | None], Any]] = {"blank": lambda v: None}
    if col_type == "string" and value:
        out["padded"] = lambda v: PAD + (v or "") + PAD  # spaces: what the platform's cleansing strips (not tabs)
        length = MAX_LENGTH.get((table, column))
        if length:
            out["too_long"] = lambda v, n=length: "X" * (n + 1)
    if column in CODE_LISTS:
        out["out_of_list"] = lambda v, c=column: _out_of_list(c, v)
    if col_type == "date":
        out["malformed_date"] = lambda v: "2026-13-45"
        out["date_out_of_order"] = lambda v: "1900-01-01"
        out["date_in_the_future"] = lambda v: "2031-01-01"
    if col_type == "time":
        out["malformed_time"] = lambda v: "24:61"
    return out


Mutated = tuple[str, vf.Idb, tuple[str, str, str]]  # (family tag, family, (table, column, mutation))


def _mutation_families() -> list[Mutated]:
    """One family per (table, column, mutation), plus an orphan and a duplicate per table."""
    out: list[Mutated] = []

    def family(what: tuple[str, str, str]) -> vf.Idb:
        fam = vf.family(len(out), "M")
        out.append((f"M{len(out):04d}", fam, what))
        return fam

    for m in table_meta():
        if m.name == "IDS000Header":
            continue
        template = vf.family(0, "M")[m.name][0]
        for column, col_type in zip(m.columns, m.types):
            for name, change in _mutations(m.name, column, col_type, template.get(column)).items():
                row = family((m.name, column, name))[m.name][0]
                row[column] = change(row.get(column))
        if m.parent_key:
            family((m.name, m.parent_key, "orphan"))[m.name][0][m.parent_key] = "ORPHAN"
        fam = family((m.name, "", "duplicate"))
        fam[m.name].append(copy.deepcopy(fam[m.name][0]))
    return out


_TAG = re.compile(r"M[0-9]{4}")


def _tag(record_key: str) -> str | None:
    found = _TAG.search(record_key)
    return found.group(0) if found else None


def _run(work: Path, families: list[Mutated], name: str) -> dict[str, Any]:
    idb = vf.valid_idb(2)
    for _, fam, _ in families:
        vf.add(idb, fam)
    wh = work / "wh.duckdb"
    if not wh.exists():
        duckdb.connect(str(wh)).close()
    src = vf.write_csv_dir(idb, work / f"csv_{name}")
    env = isolated_env(work, warehouse=wh)
    env["IAPT_VALIDATE_SCRATCH"] = str(work / "scratch")
    code, failures, summary = _validate(work, src, work / f"report_{name}", env)
    con = duckdb.connect(str(work / "scratch" / "validate.duckdb"), read_only=True)
    try:
        status = con.execute("select table_name, row_id, kept from main_validation.tos_row_status").fetchall()
    finally:
        con.close()
    # the mutated row's record key (a mutated key column takes the family tag out of it)
    keys = {t: (w[0], vf.record_key(w[0], fam[w[0]][0])) for t, fam, w in families}
    return {"idb": idb, "done": {t: w for t, _, w in families}, "keys": keys, "code": code, "failures": failures,
            "summary": summary, "status": status}


@pytest.fixture(scope="module")
def mutation_result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every mutation in one file (some of them reject the whole file)."""
    return _run(tmp_path_factory.mktemp("mutation"), _mutation_families(), "all")


@pytest.fixture(scope="module")
def record_level_result(tmp_path_factory: pytest.TempPathFactory, mutation_result: dict[str, Any]) -> dict[str, Any]:
    """The same without the families that caused a file rejection: the cascade is then decided row by row."""
    whole_file = {_tag(f["record_key"]) for f in mutation_result["failures"] if f["severity"] == "file_reject"}
    families = [f for f in _mutation_families() if f[0] not in whole_file]
    result = _run(tmp_path_factory.mktemp("mutation_rows"), families, "rows")
    assert result["code"] == 0, "no file rejection is left once those families are out"
    return result


def test_mutations_never_crash_and_exit_1_exactly_on_a_file_rejection(mutation_result: dict[str, Any]) -> None:
    # _validate asserted both; the batch really exercises every table
    tables = {t for t, _, _ in mutation_result["done"].values()}
    assert len(tables) == 20
    assert mutation_result["failures"]


def test_no_row_is_kept_whose_parent_is_not_kept(record_level_result: dict[str, Any]) -> None:
    idb: vf.Idb = record_level_result["idb"]
    kept = {(t, rid): k for t, rid, k in record_level_result["status"]}
    assert not all(kept.values()), "some records are rejected, so the cascade has work to do"
    rows = {t: idb[t] for t in META}

    def key(v: str | None) -> str | None:
        return None if v is None else v.strip(" \t\n\r\f") or None

    for m in META.values():
        if not m.parent_table:
            continue
        parents_kept = {
            key(r[m.parent_key]) for rid, r in enumerate(rows[m.parent_table]) if kept[(m.parent_table, rid)]
        }
        for rid, r in enumerate(rows[m.name]):
            if kept[(m.name, rid)]:
                assert key(r[m.parent_key]) in parents_kept, (m.name, rid, m.parent_key)


def test_a_change_of_white_space_alone_changes_nothing(mutation_result: dict[str, Any]) -> None:
    padded = {tag for tag, (_, _, name) in mutation_result["done"].items() if name == "padded"}
    assert len(padded) > 50
    hit = sorted({(mutation_result["done"][_tag(f["record_key"])], f["rule_code"])
                  for f in mutation_result["failures"] if _tag(f["record_key"]) in padded})
    assert hit == []


def test_each_kind_of_damage_is_reported_somewhere(mutation_result: dict[str, Any]) -> None:
    """Over-long text and malformed dates and times never pass unnoticed: the mutated record gets a finding."""
    reported = {(f["table"], f["record_key"]) for f in mutation_result["failures"]}
    must = {"too_long", "malformed_date", "malformed_time"}
    missed = sorted(what for tag, what in mutation_result["done"].items()
                    if what[2] in must and mutation_result["keys"][tag] not in reported)
    assert missed == []
