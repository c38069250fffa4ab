"""The synthetic service looks like a real one: the demo's month (seed 42, 2,000 patients, the demo's
defaults) against the national figures in reference/calibration_targets.csv, and the calibration
module's definitions on hand-worked referrals."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from iapt_idb.warehouse import schema
from iapt_idb.warehouse.calibration import (MEASURES, Figures, load_targets, month_figures, off_target,
                                            window_figures)
from iapt_idb.warehouse.generate import generate_warehouse

PERIOD = "2026-10"
DEMO = {"patients": 2000, "seed": 42, "defect_rate": 0.01}  # the Makefile's demo defaults
HISTORY = ("2024-11-01", "2026-10-31")  # the generator's 24 months


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calibration") / "demo.duckdb"
    generate_warehouse(out, period=PERIOD, **DEMO)
    return out


def test_targets_file_names_every_measure_with_a_source() -> None:
    targets = load_targets()
    assert set(targets) == set(MEASURES)
    for t in targets.values():
        assert 0 < t.target < 100 and 0 < t.tolerance_pp <= 5, t
        assert "https://" in t.source, t.measure


def test_demo_month_is_within_the_national_figures(demo_warehouse: Path) -> None:
    figures = month_figures(demo_warehouse, PERIOD)
    assert figures.counts["finished_course"] >= 40, figures.counts
    assert off_target(figures, load_targets()) == []


def test_the_last_twelve_months_are_within_the_national_figures(demo_warehouse: Path) -> None:
    """A year pooled (~600 finished courses) so a lucky month cannot hide a calibration that drifted."""
    figures = window_figures(demo_warehouse, "2025-11-01", "2026-10-31")
    assert off_target(figures, load_targets()) == []


def test_outcomes_vary_by_problem_and_step_of_care(demo_warehouse: Path) -> None:
    figures = window_figures(demo_warehouse, *HISTORY)
    recovery = {r["descriptor"]: r["recovery"] for r in figures.by_descriptor}
    assert recovery["PTSD"] < recovery["Generalised anxiety"] - 5
    assert recovery["Depression"] < recovery["Generalised anxiety"]
    sessions = {r["step"]: r["mean_sessions"] for r in figures.by_step}
    assert 3 <= sessions["step 2"] <= 6.5 and sessions["step 3"] >= sessions["step 2"] + 3


def test_off_target_names_the_measures_outside_their_tolerance() -> None:
    targets = load_targets()
    figures = Figures("x", {}, {m: targets[m].target for m in MEASURES}, [], [])
    assert off_target(figures, targets) == []
    figures.percent["recovery"] = targets["recovery"].target - targets["recovery"].tolerance_pp - 0.1
    figures.percent["dna_rate"] = None
    assert [line.split(":")[0] for line in off_target(figures, targets)] == ["recovery", "dna_rate"]


# --- the definitions, on referrals worked by hand ----------------------------------------------

PHQ9, GAD7 = "720433000", "445455005"


def _tiny_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute(f"CREATE SCHEMA {schema.SCHEMA}")
    for t in schema.TABLES:
        con.execute(schema.ddl(t))
    referrals = [  # id, received, discharged
        ("A", "2026-09-01", "2026-10-20"),  # recovered, reliably improved, waited 9 days
        ("B", "2026-06-01", "2026-10-05"),  # at caseness throughout, waited 49 days
        ("C", "2026-09-01", "2026-10-10"),  # one treatment session: ended, not finished
        ("D", "2026-10-03", None),  # open: its appointments count for the DNA rate only
        ("E", "2026-08-01", "2026-09-30"),  # ended before the month
        ("F", "2026-09-01", "2026-10-25"),  # not at caseness at the start; reliably improved
    ]
    con.executemany("INSERT INTO cms.referral (referral_id, received_on, discharged_on) VALUES (?, ?, ?)", referrals)
    appointments = [  # referral, day, outcome, type
        ("A", "2026-09-05", "ATTENDED", "ASSESS"), ("A", "2026-09-10", "ATTENDED", "TREAT"),
        ("A", "2026-09-17", "LATE_SEEN", "TREAT"), ("A", "2026-09-24", "DNA", "TREAT"),
        ("B", "2026-07-20", "ATTENDED", "TREAT"), ("B", "2026-08-01", "ATTENDED", "TREAT_FINAL"),
        ("B", "2026-08-08", "ATTENDED", "REVIEW"),
        ("C", "2026-09-20", "ATTENDED", "TREAT"), ("C", "2026-09-27", "DNA", "TREAT"),
        ("D", "2026-10-10", "ATTENDED", "ASSESS"), ("D", "2026-10-17", "DNA", "TREAT"),
        ("D", "2026-10-24", "PT_CANCELLED", "TREAT"),
        ("E", "2026-08-10", "ATTENDED", "TREAT"), ("E", "2026-08-17", "ATTENDED", "TREAT"),
        ("F", "2026-09-21", "ATTENDED", "ASSESS_TREAT"), ("F", "2026-09-28", "ATTENDED", "TREAT"),
    ]
    con.executemany(
        "INSERT INTO cms.appointment (appointment_id, referral_id, starts_at, outcome, appointment_type) "
        "VALUES (?, ?, ?::TIMESTAMP + INTERVAL 10 HOUR, ?, ?)",
        [(f"AP{i}", r, day, outcome, kind) for i, (r, day, outcome, kind) in enumerate(appointments)])
    scores = [  # referral, day, PHQ-9, GAD-7
        ("A", "2026-09-05", 15, 12), ("A", "2026-09-17", 6, 5),
        ("B", "2026-07-20", 12, 9), ("B", "2026-08-01", 11, 10),
        ("F", "2026-09-21", 8, 6), ("F", "2026-09-28", 2, 1),
        ("F", "2026-11-15", 20, 20),  # after the referral ended: not its last pair
    ]
    rows = []
    for r, day, phq, gad in scores:
        rows += [(len(rows), r, PHQ9, str(phq), day), (len(rows) + 1, r, GAD7, str(gad), day)]
    rows.append((len(rows), "B", PHQ9, "3", "2026-07-25"))  # no GAD-7 at that moment: not a pair
    con.executemany("INSERT INTO cms.questionnaire_score (score_id, referral_id, tool_snomed, score, completed_at) "
                    "VALUES (?, ?, ?, ?, ?::TIMESTAMP + INTERVAL 10 HOUR)", rows)
    con.close()
    return path


def test_definitions_on_hand_worked_referrals(tmp_path: Path) -> None:
    f = month_figures(_tiny_warehouse(tmp_path / "tiny.duckdb"), PERIOD)
    assert f.counts == {"referrals_received": 1, "referrals_ended": 4, "finished_course": 3, "at_caseness": 2,
                        "appointments_attended_or_dna": 2}
    assert f.percent == {
        "recovery": 50.0,  # A of A, B
        "reliable_improvement": 66.7,  # A, F of A, B, F
        "reliable_recovery": 50.0,  # A of A, B
        "wait_6_weeks": 66.7,  # A (9 days), F (20) of A, B (49), F
        "wait_18_weeks": 100.0,
        "finishing_share": 75.0,  # A, B, F of A, B, C, F
        "dna_rate": 50.0,  # D's DNA of its attended and DNA appointments; the cancellation is left out
    }


def test_demo_regenerates_a_kept_warehouse_when_the_generator_changed(tmp_path: Path, monkeypatch) -> None:
    from iapt_idb.commands import demo
    from iapt_idb.warehouse import generate

    wh = tmp_path / "wh.duckdb"
    assert demo._ensure_warehouse(wh, 5, 1, 0.0, PERIOD) is True
    assert demo._ensure_warehouse(wh, 5, 1, 0.0, PERIOD) is False  # same settings, same generator: kept
    monkeypatch.setattr(generate, "generator_fingerprint", lambda: "another generator")
    assert demo._ensure_warehouse(wh, 5, 1, 0.0, PERIOD) is True
