"""`iapt-idb measures` and the headline-measure models (models/marts/measures).

The measure arithmetic itself is covered by the dbt unit tests in
models/marts/measures/_measures__models.yml (run by `dbt build`); these tests cover the reader,
the formatting, the CLI and the consistency of the built tables.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import pytest

from conftest import isolated_env, run_cli
from iapt_idb.cli import main
from iapt_idb.errors import UserError
from iapt_idb.commands.measures import COLUMNS, format_headline, headline_measures
from iapt_idb.paths import ROOT

MEASURE_SEEDS = ROOT / "seeds" / "measures"
CATALOGUE_MACRO = ROOT / "macros" / "measures" / "measures_summary.sql"


def _write_headline(path: Path, rows: list[tuple]) -> Path:
    con = duckdb.connect(str(path))
    con.execute(
        "create table main.measures_headline (period_start_date date, period_end_date date, measure_id varchar, "
        "sort_order integer, measure_label varchar, unit varchar, value_kind varchar, numerator bigint, "
        "denominator bigint, measure_value decimal(18, 4), numerator_definition varchar, "
        "denominator_definition varchar, source varchar)"
    )
    con.executemany(f"insert into main.measures_headline values ({', '.join('?' * len(COLUMNS))})", rows)
    con.close()
    return path


@pytest.fixture()
def small_headline_db(tmp_path: Path) -> Path:
    p = ("2026-10-01", "2026-10-31")
    return _write_headline(
        tmp_path / "headline.duckdb",
        [
            (*p, "dna_rate", 30, "DNA rate", "percent", "percent", 0, 0, None, "n", "d", "s"),
            (*p, "referrals_received", 10, "Referrals received", "count", "count", 1234, None, 1234, "n", None, "s"),
            (*p, "self_referrals", 20, "Self-referrals", "percent", "percent", 1, 2, 50, "n", "d", "s"),
            (*p, "mean_days", 25, "Mean wait", "days", "mean", 52, 2, 26, "n", "d", "s"),
        ],
    )


def test_reader_orders_rows_and_returns_plain_values(small_headline_db: Path) -> None:
    rows = headline_measures(small_headline_db, period="2026-10")
    assert [r["measure_id"] for r in rows] == ["referrals_received", "self_referrals", "mean_days", "dna_rate"]
    assert rows[1]["measure_value"] == 50.0 and isinstance(rows[1]["measure_value"], float)
    assert rows[0]["period_start_date"] == "2026-10-01"
    json.dumps(rows)  # JSON-ready: no Decimal or date objects left


def test_format_shows_units_ratios_null_rates_and_the_caveat(small_headline_db: Path) -> None:
    text = format_headline(headline_measures(small_headline_db))
    lines = text.splitlines()
    assert lines[0] == "NHS Talking Therapies headline measures, October 2026 (2026-10-01 to 2026-10-31)"
    by_label = {line.split("  ")[0]: line for line in lines if line.startswith(("Referrals", "Self", "Mean", "DNA"))}
    assert re.search(r"\s1,234\s*$", by_label["Referrals received"])
    assert re.search(r"\s50\.0%\s+1 / 2$", by_label["Self-referrals"])
    assert re.search(r"\s26\.0 days\s+52 / 2$", by_label["Mean wait"])
    assert re.search(r"\s-\s+0 / 0$", by_label["DNA rate"]), "an empty cohort has no rate"
    assert "Derived from the provider's whole history" in text and "preview" not in text.lower()
    assert format_headline([]).startswith("No headline measures")


def test_cli_refuses_another_month_and_missing_inputs(small_headline_db: Path, tmp_path: Path, capsys) -> None:
    assert main(["measures", "--period", "2026-09", "--target-db", str(small_headline_db)]) == 2
    assert "not 2026-09" in capsys.readouterr().err
    with pytest.raises(UserError, match="no target database"):
        headline_measures(tmp_path / "absent.duckdb")
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with pytest.raises(UserError, match="no table measures_headline"):
        headline_measures(tmp_path / "empty.duckdb")
    assert main(["measures", "--period", "2026-10", "--target-db", str(small_headline_db), "--json"]) == 0
    assert [r["measure_id"] for r in json.loads(capsys.readouterr().out)][0] == "referrals_received"


def _catalogue() -> dict[str, str]:
    """measure_id -> kind, from the measures_catalogue macro (one 'id ; kind ; num ; den' per line)."""
    text = CATALOGUE_MACRO.read_text(encoding="utf-8")
    body = text.split("{% macro measures_catalogue() -%}")[1].split("{%- endmacro %}")[0]
    return {p[0].strip(): p[1].strip() for p in (line.split(";") for line in body.strip().splitlines())}


def test_every_measure_has_a_definition_with_a_matching_unit_and_a_source() -> None:
    with (MEASURE_SEEDS / "measure_definitions.csv").open(encoding="utf-8", newline="") as f:
        definitions = {r["measure_id"]: r for r in csv.DictReader(f)}
    catalogue = _catalogue()
    assert set(catalogue) == set(definitions)
    unit_of_kind = {"count": "count", "percent": "percent", "mean": "days"}
    for measure_id, kind in catalogue.items():
        assert definitions[measure_id]["unit"] == unit_of_kind[kind], measure_id
        assert definitions[measure_id]["source"].strip(), measure_id


def test_every_threshold_and_code_grouping_row_names_its_source() -> None:
    for name in ("assessment_thresholds", "problem_descriptor_measures", "measure_code_groups",
                 "measure_parameters", "age_bands"):
        with (MEASURE_SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows and all(r["source"].strip() for r in rows), name


def test_measures_on_the_built_marts_are_consistent(built_marts, tmp_path: Path) -> None:
    proc = run_cli(["measures", "--period", built_marts.period, "--target-db", str(built_marts.target_db), "--json"],
                   isolated_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = {r["measure_id"]: r for r in json.loads(proc.stdout)}
    assert set(rows) == set(_catalogue())
    assert {r["period_start_date"] for r in rows.values()} == {f"{built_marts.period}-01"}
    assert rows["referrals_received"]["numerator"] > 0, "the synthetic month should have referrals"
    for r in rows.values():
        if r["value_kind"] == "percent":
            assert 0 <= r["numerator"] <= r["denominator"], r
            if r["denominator"]:
                assert r["measure_value"] == pytest.approx(100 * r["numerator"] / r["denominator"], abs=1e-4)
            else:
                assert r["measure_value"] is None
    finished = rows["finished_treatment"]["numerator"]
    assert finished <= rows["ended_referrals"]["numerator"]
    assert rows["reliable_improvement_rate"]["denominator"] == finished
    assert rows["recovery_rate"]["denominator"] == finished - rows["finished_not_at_caseness"]["numerator"]
    assert rows["entered_waited_6_weeks"]["denominator"] == rows["entered_treatment"]["numerator"]
    assert rows["entered_waited_6_weeks"]["numerator"] <= rows["entered_waited_18_weeks"]["numerator"]

    con = duckdb.connect(str(built_marts.target_db), read_only=True)
    try:
        per_dimension = con.execute(
            "select demographic_dimension, sum(numerator) from main.measures_by_demographic "
            "where measure_id = 'referrals_received' group by 1"
        ).fetchall()
        # every referral of the month's IDB has its pathway, derived from the whole history
        missing = con.execute(
            "select count(*) from main.IDS101Referral where ServiceRequestId not in "
            "(select service_request_id from main.measures_referral_pathway)"
        ).fetchone()[0]
        periods = con.execute("select distinct period_start_date from main.measures_referral_pathway").fetchall()
    finally:
        con.close()
    assert len(per_dimension) == 7
    for dimension, total in per_dimension:
        assert total == rows["referrals_received"]["numerator"], f"{dimension} splits referrals differently"
    assert missing == 0, "every IDB referral has a pathway"
    assert [str(p) for (p,) in periods] == [f"{built_marts.period}-01"]


def test_a_model_materialized_for_one_reader_has_one_reader_and_is_a_view_on_duckdb(built_marts) -> None:
    # A view read by two models would be computed twice per build: a model configured with
    # one_reader_materialization must keep exactly one reader, and DuckDB builds it as a view.
    manifest = json.loads((built_marts.target_path / "manifest.json").read_text(encoding="utf-8"))
    one_reader = {uid: node["name"] for uid, node in manifest["nodes"].items()
                  if node["resource_type"] == "model"
                  and "macro.iapt_idb.one_reader_materialization" in node["depends_on"]["macros"]}
    assert len(one_reader) >= 4, one_reader
    for uid, name in one_reader.items():
        readers = [c for c in manifest["child_map"][uid] if c.startswith("model.")]
        assert len(readers) == 1, f"{name} is read by {readers}: give it a table of its own"
        assert manifest["nodes"][uid]["config"]["materialized"] == "view", name
    con = duckdb.connect(str(built_marts.target_db), read_only=True)
    try:
        views = {n for (n,) in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    finally:
        con.close()
    assert set(one_reader.values()) <= views


def test_the_docs_block_lists_every_measure_with_the_seed_definition() -> None:
    docs = (ROOT / "models" / "marts" / "measures" / "_measures__docs.md").read_text(encoding="utf-8")
    documented = {line.split("|")[1].strip(): line for line in docs.splitlines()
                  if line.startswith("| ") and not line.startswith("| measure_id")}
    with (MEASURE_SEEDS / "measure_definitions.csv").open(encoding="utf-8", newline="") as f:
        definitions = {r["measure_id"]: r for r in csv.DictReader(f)}
    assert set(documented) == set(definitions)
    for measure_id, row in definitions.items():
        assert row["numerator_definition"].replace("|", "/") in documented[measure_id], measure_id
