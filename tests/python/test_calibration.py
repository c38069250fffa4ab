"""The synthetic service looks like a real one: the headline measures the dbt models derive for the
demo's month (seed 42, 2,000 patients, the demo's defaults), the figures `make demo` prints, against
the national figures in reference/calibration_targets.csv.

The measures are not recomputed here: the dbt measure models run on the `built_marts` fixture's
database (its seeds and staging views, its parsed manifest, in-process) over the demo's warehouse,
for the 24 months of its history, so the cost is a warehouse generation and one dbt run of the
measure models, not a build."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from iapt_idb.paths import ROOT
from iapt_idb.warehouse.calibration import MEASURES, Figures, figures, load_targets, off_target
from iapt_idb.warehouse.generate import generate_warehouse

from conftest import BuiltMarts
from measures_fixtures import run_measure_models

PERIOD = "2026-10"
DEMO = {"patients": 2000, "seed": 42, "defect_rate": 0.01}  # the Makefile's demo defaults
HISTORY_MONTHS = 24  # the generator's history: November 2024 to the period
LAST_YEAR = [f"{y}-{m:02d}-01" for y, m in [(2025, 11), (2025, 12)] + [(2026, m) for m in range(1, 11)]]
HISTORY = [f"{y}-{m:02d}-01" for y, m in [(2024, 11), (2024, 12)] + [(2025, m) for m in range(1, 13)]] + LAST_YEAR[2:]


@pytest.fixture(scope="module")
def demo_measures(built_marts: BuiltMarts, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(target DB holding the demo warehouse's measures for 24 months, the demo warehouse)."""
    work = tmp_path_factory.mktemp("calibration")
    warehouse = work / "demo.duckdb"
    generate_warehouse(warehouse, period=PERIOD, **DEMO)
    db = work / built_marts.target_db.name  # the same file name: the staging views name its catalog
    shutil.copy(built_marts.target_db, db)
    run_measure_models(built_marts, db, warehouse, work,
                       {"period": PERIOD, "provider_ods_code": "RZZ", "measures_months": HISTORY_MONTHS})
    return db, warehouse


def test_targets_file_names_every_measure_with_a_source_and_its_headline_measure() -> None:
    targets = load_targets()
    assert set(targets) == set(MEASURES)
    with (ROOT / "seeds" / "measures" / "measure_definitions.csv").open(newline="", encoding="utf-8") as fh:
        units = {r["measure_id"]: r["unit"] for r in csv.DictReader(fh)}
    for t in targets.values():
        assert 0 < t.target < 100 and 0 < t.tolerance_pp <= 5, t
        assert "https://" in t.source, t.measure
        parts = t.headline.split("/")
        assert all(p in units for p in parts), t.headline
        assert [units[p] for p in parts] == (["percent"] if len(parts) == 1 else ["count", "count"]), t.headline


@pytest.mark.slow
def test_demo_month_is_within_the_national_figures(demo_measures: tuple[Path, Path]) -> None:
    db, _ = demo_measures
    month = figures(db, [f"{PERIOD}-01"])
    assert month.counts["finished_course"] >= 40, month.counts
    assert off_target(month, load_targets()) == []


@pytest.mark.slow
def test_the_last_twelve_months_are_within_the_national_figures(demo_measures: tuple[Path, Path]) -> None:
    """A year pooled (~530 finished courses) so a lucky month cannot hide a calibration that drifted."""
    db, _ = demo_measures
    year = figures(db, LAST_YEAR)
    assert year.counts["finished_course"] >= 400, year.counts
    assert off_target(year, load_targets()) == []


@pytest.mark.slow
def test_outcomes_vary_by_problem_and_step_of_care(demo_measures: tuple[Path, Path]) -> None:
    db, warehouse = demo_measures
    history = figures(db, warehouse=warehouse)  # every month built: the whole history
    recovery = {r["descriptor"]: r["recovery"] for r in history.by_descriptor}
    assert recovery["Post-traumatic stress disorder"] < recovery["Generalised anxiety disorder"] - 5, recovery
    assert recovery["Depression"] < recovery["Generalised anxiety disorder"], recovery
    sessions = {r["step"]: r["mean_sessions"] for r in history.by_step}
    assert 3 <= sessions["step 2"] <= 6.5 and sessions["step 3"] >= sessions["step 2"] + 3, sessions


@pytest.mark.slow
def test_recovery_by_problem_descriptor_is_in_the_national_range(demo_measures: tuple[Path, Path]) -> None:
    """National annual reports put recovery by problem descriptor mostly at 40-60 %. Pooled over the
    demo warehouse's whole history (24 months), a descriptor with at least 30 finished courses (~9 pp of
    sampling noise) must land in 35-65 %, one with 20-29 (~11 pp) in 30-70 %: that reaches the smaller
    anxiety disorders (OCD, PTSD, panic, social phobia, health anxiety), whose own measures decide their
    recovery, as well as depression, GAD and mixed anxiety and depression."""
    db, _ = demo_measures
    history = figures(db, HISTORY)
    bands = {r["descriptor"]: ((35, 65) if int(r["finished"]) >= 30 else (30, 70), r["recovery"])
             for r in history.by_descriptor if int(r["finished"]) >= 20}
    assert {"Obsessive-compulsive disorder", "Post-traumatic stress disorder"} <= set(bands), history.by_descriptor
    assert {d: r for d, ((lo, hi), r) in bands.items() if r is None or not lo <= r <= hi} == {}, bands


def test_off_target_names_the_measures_outside_their_tolerance() -> None:
    targets = load_targets()
    f = Figures("x", {}, {m: targets[m].target for m in MEASURES}, [], [])
    assert off_target(f, targets) == []
    f.percent["recovery"] = targets["recovery"].target - targets["recovery"].tolerance_pp - 0.1
    f.percent["dna_rate"] = None
    assert [line.split(":")[0] for line in off_target(f, targets)] == ["recovery", "dna_rate"]


def test_figures_read_and_pool_the_headline_rows(tmp_path: Path) -> None:
    """Two months of measures_headline rows (numerator, denominator) worked by hand: each target reads
    its headline measure, a ratio target divides two counts, and pooling sums before dividing."""
    db = tmp_path / "headline.duckdb"
    counts = {"referrals_received": (10, 30), "ended_referrals": (8, 12), "finished_treatment": (3, 5)}
    rates = {  # measure: (numerator, denominator) in month 1, then month 2
        "recovery_rate": ((1, 3), (3, 5)), "reliable_improvement_rate": ((2, 3), (3, 5)),
        "reliable_recovery_rate": ((1, 3), (2, 5)), "finished_waited_6_weeks": ((3, 3), (4, 5)),
        "finished_waited_18_weeks": ((3, 3), (5, 5)), "dna_rate": ((1, 10), (1, 30)),
    }
    rows = []
    for i, month in enumerate(("2026-09-01", "2026-10-01")):
        rows += [(month, m, n[i], None) for m, n in counts.items()]
        rows += [(month, m, nd[i][0], nd[i][1]) for m, nd in rates.items()]
    with duckdb.connect(str(db)) as con:
        con.execute("create table main.measures_headline (period_start_date date, measure_id varchar, "
                    "numerator bigint, denominator bigint)")
        con.executemany("insert into main.measures_headline values (?, ?, ?, ?)", rows)
        con.execute("create table main.measures_referral_pathway (period_start_date date, "
                    "problem_descriptor varchar, is_finished_treatment int, treatment_appointment_count int, "
                    "is_recovered int, is_not_at_caseness_start int, is_reliably_improved int)")
        con.executemany("insert into main.measures_referral_pathway values (?, ?, ?, ?, ?, ?, ?)", [
            ("2026-10-01", "Depression", 1, 4, 1, 0, 1), ("2026-10-01", "Depression", 1, 6, 0, 1, 0),
            ("2026-10-01", None, 1, 2, 0, 0, 0), ("2026-10-01", "Depression", 0, 1, 0, 0, 0)])
    october = figures(db, ["2026-10-01"])
    assert october.percent == {"recovery": 60.0, "reliable_improvement": 60.0, "reliable_recovery": 40.0,
                               "wait_6_weeks": 80.0, "wait_18_weeks": 100.0, "finishing_share": 41.7,
                               "dna_rate": 3.3}
    assert october.by_descriptor == [
        {"descriptor": "Depression", "finished": 2, "mean_sessions": 5.0, "recovery": 100.0,
         "reliable_improvement": 50.0},
        {"descriptor": "Other or not recorded", "finished": 1, "mean_sessions": 2.0, "recovery": 0.0,
         "reliable_improvement": 0.0}]
    both = figures(db)  # every month: sums first (4/8 recovered, 8/20 finished of those ending)
    assert both.label == "2026-09..2026-10"
    assert (both.percent["recovery"], both.percent["finishing_share"], both.percent["dna_rate"]) == (50.0, 40.0, 5.0)
    assert both.counts == {"referrals_received": 40, "referrals_ended": 20, "finished_course": 8, "at_caseness": 8,
                           "appointments_attended_or_dna": 40}


def test_demo_regenerates_a_kept_warehouse_when_the_generator_changed(tmp_path: Path, monkeypatch) -> None:
    from iapt_idb.commands import demo
    from iapt_idb.warehouse import generate

    wh = tmp_path / "wh.duckdb"
    assert demo._ensure_warehouse(wh, 5, 1, 0.0, PERIOD) is True
    assert demo._ensure_warehouse(wh, 5, 1, 0.0, PERIOD) is False  # same settings, same generator: kept
    monkeypatch.setattr(generate, "generator_fingerprint", lambda: "another generator")
    assert demo._ensure_warehouse(wh, 5, 1, 0.0, PERIOD) is True
