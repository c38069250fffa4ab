"""Tests of `iapt-idb generate`: the synthetic Lumen CMS warehouse (small, fast runs)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from iapt_idb import cli
from iapt_idb.paths import CODELIST_DIR, MAPPING_SEEDS_DIR
from iapt_idb import nhs_number
from iapt_idb.warehouse import schema
from iapt_idb.warehouse.gen_codes import MappingSeedError
from iapt_idb.warehouse.generate import generate_warehouse

PERIOD = "2026-10"
PERIOD_START, PERIOD_END = "2026-10-01", "2026-10-31"
PATIENTS = 1200  # two generator blocks


def _generate(path: Path, seed: int = 11, rate: float = 0.0, chunk: int = 20000, patients: int = PATIENTS) -> Path:
    generate_warehouse(path, patients=patients, seed=seed, defect_rate=rate, period=PERIOD, chunk_size=chunk)
    return path


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    path = _generate(tmp_path_factory.mktemp("gen") / "clean.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def spoiled(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    path = _generate(tmp_path_factory.mktemp("gen") / "spoiled.duckdb", rate=0.1)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _seed_codes(code_set: str) -> dict[str, str]:
    with (MAPPING_SEEDS_DIR / f"map_{code_set}.csv").open(newline="", encoding="utf-8") as fh:
        return {r["local_code"]: r["national_code"] for r in csv.DictReader(fh)}


def _locals_for(code_set: str, *nationals: str) -> list[str]:
    return [loc for loc, nat in _seed_codes(code_set).items() if nat in nationals]


def _content_hashes(path: Path) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for t in schema.TABLES + (schema.DEFECT_LOG_TABLE,):
            out[t.name] = con.execute(f"SELECT count(*), coalesce(sum(hash(x)::HUGEINT), 0) FROM cms.{t.name} x").fetchone()
        return out
    finally:
        con.close()


def test_every_contract_table_with_exact_columns_and_types(clean):
    for t in schema.TABLES + (schema.DEFECT_LOG_TABLE,):
        got = clean.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'cms' AND table_name = ? ORDER BY ordinal_position", [t.name]
        ).fetchall()
        assert got == [(c.name, c.type) for c in t.columns], t.name
        if t.name != schema.DEFECT_LOG_TABLE.name:
            assert clean.execute(f"SELECT count(*) FROM cms.{t.name}").fetchone()[0] > 0, f"{t.name} is empty"
    tables = {r[0] for r in clean.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='cms'").fetchall()}
    assert tables == {t.name for t in schema.TABLES} | {schema.DEFECT_LOG_TABLE.name}


def test_same_seed_same_content_whatever_the_chunk_size_and_other_seed_differs(tmp_path):
    a = _content_hashes(_generate(tmp_path / "a.duckdb", seed=5, rate=0.05, chunk=1000))
    # another process with another string-hash seed and chunk size must write the same content
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-m", "iapt_idb.cli", "generate", "--out", str(tmp_path / "b.duckdb"), "--patients",
                    str(PATIENTS), "--seed", "5", "--defect-rate", "0.05", "--chunk-size", "50000", "--quiet"],
                   check=True, env=env, capture_output=True)
    b = _content_hashes(tmp_path / "b.duckdb")
    c = _content_hashes(_generate(tmp_path / "c.duckdb", seed=6, rate=0.05, chunk=1000))
    assert a == b
    differing = [t for t in a if a[t] != c[t]]
    assert "patient" in differing and "appointment" in differing and "questionnaire_score" in differing


def test_primary_keys_unique(clean):
    for t in schema.TABLES:
        keys = ", ".join(t.key)
        dup = clean.execute(f"SELECT count(*) - count(DISTINCT ({keys})) FROM cms.{t.name}").fetchone()[0]
        assert dup == 0, t.name


def test_nhs_numbers_in_test_range_and_valid_except_logged(spoiled, clean):
    for con in (clean, spoiled):
        rows = con.execute("SELECT patient_id, nhs_no FROM cms.patient WHERE nhs_no IS NOT NULL").fetchall()
        logged = {r[0] for r in con.execute(
            "SELECT record_key FROM cms.generator_defects WHERE defect_kind = 'invalid_nhs_number'").fetchall()}
        bad = {pid for pid, n in rows if not nhs_number.is_valid(n)}
        assert bad == logged
        assert all(n.startswith("999") for _, n in rows)
    assert clean.execute("SELECT count(DISTINCT nhs_no) = count(nhs_no) FROM cms.patient").fetchone()[0]
    assert len(logged) > 0


def test_check_digit_known_values():
    assert nhs_number.is_valid("9434765919")
    assert not nhs_number.is_valid("9434765918")
    assert not nhs_number.is_valid("943476591")
    for how in range(3):
        assert not nhs_number.is_valid(nhs_number.spoil("9434765919", how))


def test_people_past_the_test_range_get_no_number_never_a_reused_one():
    """The 999 range holds ~909,000 distinct valid numbers: a 1,000,000-patient warehouse gives the people
    past it no NHS number (a warning on the platform), never a second person's number."""
    import numpy as np

    cap = nhs_number.capacity()
    people = np.array([0, 1, cap - 2, cap - 1, cap, cap + 1, 2 * cap + 1], dtype=np.int64)
    missing = np.array([False, True, False, False, False, False, False])
    got = nhs_number.numbers_or_none(people, 4242, missing)
    assert [v is None for v in got] == [False, True, False, False, True, True, True]
    kept = [v for v in got if v is not None]
    assert all(nhs_number.is_valid(v) and v.startswith("999") for v in kept) and len(set(kept)) == 3
    assert list(got[[0, 2, 3]]) == list(nhs_number.numbers_for(people[[0, 2, 3]], 4242))


def test_clean_run_has_no_defects_and_only_seed_codes(clean):
    assert clean.execute("SELECT count(*) FROM cms.generator_defects").fetchone()[0] == 0
    for t in schema.TABLES:
        for c in t.columns:
            if not c.code_set:
                continue
            values = {r[0] for r in clean.execute(f"SELECT DISTINCT {c.name} FROM cms.{t.name} WHERE {c.name} IS NOT NULL").fetchall()}
            assert values <= set(_seed_codes(c.code_set)), f"{t.name}.{c.name}: {values - set(_seed_codes(c.code_set))}"


def test_clean_run_referentially_sound(clean):
    orphans = {
        "appointment->referral": "SELECT count(*) FROM cms.appointment a ANTI JOIN cms.referral r USING (referral_id)",
        "intervention->appointment": "SELECT count(*) FROM cms.appointment_intervention i ANTI JOIN cms.appointment a USING (appointment_id)",
        "score->referral": "SELECT count(*) FROM cms.questionnaire_score s ANTI JOIN cms.referral r USING (referral_id)",
        "score->intervention": "SELECT count(*) FROM cms.questionnaire_score s WHERE intervention_id IS NOT NULL AND intervention_id NOT IN (SELECT intervention_id FROM cms.appointment_intervention)",
        "referral->patient": "SELECT count(*) FROM cms.referral r ANTI JOIN cms.patient p USING (patient_id)",
        "intervention->staff": "SELECT count(*) FROM cms.appointment_intervention i ANTI JOIN cms.staff s USING (staff_id)",
        "qualification->staff": "SELECT count(*) FROM cms.staff_qualification q ANTI JOIN cms.staff s USING (staff_id)",
    }
    for t in schema.TABLES:
        cols = [c.name for c in t.columns]
        if t.name != "patient" and "patient_id" in cols:
            orphans[f"{t.name}->patient"] = f"SELECT count(*) FROM cms.{t.name} x ANTI JOIN cms.patient p USING (patient_id)"
        if t.name not in ("referral", "appointment", "questionnaire_score") and "referral_id" in cols:
            orphans[f"{t.name}->referral"] = f"SELECT count(*) FROM cms.{t.name} x ANTI JOIN cms.referral r USING (referral_id)"
    for name, sql in orphans.items():
        assert clean.execute(sql).fetchone()[0] == 0, name
    order = {
        "referral": ("received_on", "discharged_on"), "gp_registration": ("registered_from", "registered_to"),
        "patient_address": ("valid_from", "valid_to"), "waiting_pause": ("paused_from", "paused_to"),
        "accommodation_history": ("started_on", "ended_on"), "digital_therapy_log": ("started_on", "ended_on"),
    }
    for table, (start, end) in order.items():
        assert clean.execute(f"SELECT count(*) FROM cms.{table} WHERE {end} < {start}").fetchone()[0] == 0, table
    assert clean.execute(
        "SELECT count(*) FROM cms.appointment a JOIN cms.referral r USING (referral_id) WHERE a.starts_at::DATE < r.received_on"
    ).fetchone()[0] == 0
    assert clean.execute("SELECT count(*) FROM cms.referral WHERE received_on IS NULL OR problem_onset IS NULL").fetchone()[0] == 0
    assert clean.execute(
        "SELECT count(*) FROM cms.referral WHERE (discharged_on IS NULL) <> (discharge_reason IS NULL)").fetchone()[0] == 0


def _tool_ranges() -> dict[str, tuple[float, float] | tuple[str, ...]]:
    out: dict = {}
    with (CODELIST_DIR / "assessment_tools_snomed.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            m = re.search(r"score range (\d+)-(\d+)", r["notes"])
            letters = re.search(r"allowed values ([A-Z/]+)", r["notes"])
            out[r["code"]] = (float(m.group(1)), float(m.group(2))) if m else tuple(letters.group(1).split("/"))
    return out


def test_pathway_realism(clean):
    dna = _locals_for("attendance", "3")
    attended = _locals_for("attendance", "5", "6")
    outcomes = dict(clean.execute("SELECT outcome, count(*) FROM cms.appointment GROUP BY 1").fetchall())
    total = sum(outcomes.values())
    share_dna = sum(outcomes.get(c, 0) for c in dna) / total
    share_att = sum(outcomes.get(c, 0) for c in attended) / total
    assert 0.03 < share_dna < 0.2 and 0.7 < share_att < 0.95
    ref = clean.execute(f"""
        SELECT count(*) FILTER (WHERE discharged_on <= DATE '{PERIOD_END}'),
               count(*) FILTER (WHERE received_on <= DATE '{PERIOD_END}' AND (discharged_on IS NULL OR discharged_on > DATE '{PERIOD_END}')),
               count(*) FILTER (WHERE received_on > DATE '{PERIOD_END}'),
               count(*) FILTER (WHERE discharged_on IS NULL AND referral_id NOT IN (SELECT referral_id FROM cms.appointment)),
               count(*)
        FROM cms.referral""").fetchone()
    discharged, open_at_end, after, waiting, n_ref = ref
    assert discharged > 0.4 * n_ref and open_at_end > 0.05 * n_ref and after > 0 and waiting > 0
    assert clean.execute(f"SELECT count(*) FROM cms.appointment WHERE starts_at >= TIMESTAMP '{PERIOD_END}' + INTERVAL 1 DAY").fetchone()[0] > 0
    reasons = {r[0] for r in clean.execute("SELECT DISTINCT discharge_reason FROM cms.referral").fetchall()}
    for nats in (("46",), ("47", "48"), ("50",), ("14",)):  # completed, dropped out, never assessed, declined
        assert reasons & set(_locals_for("discharge_reason", *nats)), nats
    # referral-level scores (no intervention) exist but are a minority
    no_iv, n_scores = clean.execute("SELECT count(*) FILTER (WHERE intervention_id IS NULL), count(*) FROM cms.questionnaire_score").fetchone()
    assert 0 < no_iv < 0.1 * n_scores


def test_scores_in_tool_format_and_range(clean):
    ranges = _tool_ranges()
    rows = clean.execute("SELECT tool_snomed, score FROM cms.questionnaire_score").fetchall()
    tools = {t for t, _ in rows}
    assert {"720433000", "445455005"} <= tools and len(tools) > 10  # PHQ-9, GAD-7, ADSMs, WSAS, PEQ
    for tool, score in rows:
        rng = ranges[tool]
        if isinstance(rng[0], float):
            assert re.fullmatch(r"\d{1,3}(\.\d{1,2})?", score), (tool, score)
            assert rng[0] <= float(score) <= rng[1], (tool, score)
        else:
            assert score in rng, (tool, score)


DEFECT_CHECKS = {
    # kind -> SQL returning true when the named row shows the defect ({t} table, {k} key column, {c} column)
    "missing_mandatory": "SELECT bool_and({c} IS NULL) FROM cms.{t} WHERE {k}::VARCHAR = ?",
    "dates_out_of_order": None,  # checked with the start column below
    "orphan_row": "SELECT bool_and(referral_id NOT IN (SELECT referral_id FROM cms.referral)) FROM cms.{t} WHERE {k}::VARCHAR = ?",
    "over_long_text": "SELECT bool_and(length({c}) > CASE WHEN '{c}' = 'postcode' THEN 8 ELSE 20 END) FROM cms.{t} WHERE {k}::VARCHAR = ?",
    "future_birth_date": f"SELECT bool_and({{c}} > DATE '{PERIOD_END}') FROM cms.{{t}} WHERE {{k}}::VARCHAR = ?",
    "bad_postcode": "SELECT bool_and(NOT regexp_full_match(trim(upper({c})), '[A-Z]{{1,2}}[0-9][A-Z0-9]? [0-9][A-Z]{{2}}')) FROM cms.{t} WHERE {k}::VARCHAR = ?",
    "bad_onset_format": "SELECT bool_and(NOT regexp_full_match({c}, '[0-9]{{4}}-(0[1-9]|1[0-2])')) FROM cms.{t} WHERE {k}::VARCHAR = ?",
}
START_OF = {"valid_to": "valid_from", "registered_to": "registered_from", "discharged_on": "received_on", "paused_to": "paused_from"}


def test_each_logged_defect_is_present_in_its_row(spoiled):
    log = spoiled.execute("SELECT table_name, record_key, column_name, defect_kind, detail FROM cms.generator_defects").fetchall()
    kinds = {r[3] for r in log}
    assert kinds == {"invalid_nhs_number", "missing_mandatory", "unmapped_code", "dates_out_of_order", "duplicate_row",
                     "orphan_row", "over_long_text", "future_birth_date", "bad_postcode", "bad_onset_format"}
    nhs = [r[0] for r in spoiled.execute("SELECT nhs_no FROM cms.patient WHERE nhs_no IS NOT NULL").fetchall()]
    for table, key_value, column, kind, detail in log:
        t = schema.table(table)
        k = t.key[0]
        assert not re.search(r"\d{9,}|\d{4}-\d{2}-\d{2}", detail), detail  # no NHS numbers or dates in details
        assert spoiled.execute(f"SELECT count(*) FROM cms.{table} WHERE {k}::VARCHAR = ?", [key_value]).fetchone()[0] == 1
        if kind == "invalid_nhs_number":
            value = spoiled.execute("SELECT nhs_no FROM cms.patient WHERE patient_id = ?", [key_value]).fetchone()[0]
            assert not nhs_number.is_valid(value)
        elif kind == "unmapped_code":
            code_set = next(c.code_set for c in t.columns if c.name == column)
            value = spoiled.execute(f"SELECT {column} FROM cms.{table} WHERE {k}::VARCHAR = ?", [key_value]).fetchone()[0]
            assert value is not None and value not in _seed_codes(code_set)
        elif kind == "dates_out_of_order":
            ok = spoiled.execute(f"SELECT bool_and({column} < {START_OF[column]}) FROM cms.{table} WHERE {k}::VARCHAR = ?", [key_value]).fetchone()[0]
            assert ok, (table, column)
        elif kind == "duplicate_row":
            others = [c.name for c in t.columns if c.name != k]
            same = " AND ".join(f"a.{c} IS NOT DISTINCT FROM b.{c}" for c in others)
            twins = spoiled.execute(
                f"SELECT count(*) FROM cms.{table} a JOIN cms.{table} b ON {same} AND a.{k} <> b.{k} WHERE a.{k}::VARCHAR = ?",
                [key_value]).fetchone()[0]
            assert twins >= 1, table
        else:
            sql = DEFECT_CHECKS[kind].format(t=table, k=k, c=column)
            assert spoiled.execute(sql, [key_value]).fetchone()[0], (table, column, kind)
    assert not any(n in d for n in nhs[:200] for *_, d in log)


def test_defects_mostly_in_the_reporting_period(spoiled):
    share = spoiled.execute(f"""
        SELECT avg(CASE WHEN a.starts_at::DATE BETWEEN DATE '{PERIOD_START}' AND DATE '{PERIOD_END}' THEN 1 ELSE 0 END)
        FROM cms.generator_defects d JOIN cms.appointment a ON a.appointment_id = d.record_key
        WHERE d.table_name = 'appointment'""").fetchone()[0]
    assert share > 0.5  # although in-period appointments are under a tenth of all appointments


def test_cli_help_and_bad_arguments(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        cli.main(["generate", "--help"])
    assert exc.value.code == 0
    assert "--defect-rate" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["generate", "--out", str(tmp_path / "x.duckdb"), "--period", "2026-13"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["generate", "--out", str(tmp_path / "y.duckdb"), "--defect-rate", "0.9", "--quiet"])
    assert exc.value.code == 2
    assert not (tmp_path / "y.duckdb").exists()


def test_cli_writes_a_warehouse(tmp_path, capsys):
    out = tmp_path / "w.duckdb"
    assert cli.main(["generate", "--out", str(out), "--patients", "150", "--seed", "3", "--quiet"]) == 0
    assert "patient" in capsys.readouterr().out
    con = duckdb.connect(str(out), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM cms.patient").fetchone()[0] == 150
    finally:
        con.close()


def test_tiny_runs_and_missing_mapping_seeds(tmp_path):
    for n in (1, 2):
        summary = generate_warehouse(tmp_path / f"{n}.duckdb", patients=n, seed=n, defect_rate=0.5, period=PERIOD)
        assert summary.rows["patient"] == n and summary.rows["referral"] >= n
    with pytest.raises(MappingSeedError, match="map_"):
        generate_warehouse(tmp_path / "x.duckdb", patients=5, seed=1, mapping_dir=tmp_path)
