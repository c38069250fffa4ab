"""The verdict where NHS England's published rule engine (nhsengland/Reusable-Code-Library, src/dsp) decides a
point the TOS leaves open: trimmed strings, null foreign keys, unknown coding schemes, non-numeric scores, and
the inferred reading of IDSREJ015. Each test names the engine function its expected codes come from.

Two `iapt-idb validate` runs on small CSV IDBs (synthetic data, NHS numbers from the 999 test range): one file
with a padded header and one family per behaviour, one with an invalid single header. Then an export of marts
holding padded text, read back from the .accdb.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

import validation_fixtures as vf


def _validate(work: Path, idb: vf.Idb, name: str) -> dict[str, Any]:
    proc, report = vf.validate_csv(work, idb, name)
    con = duckdb.connect(str(work / "scratch" / "validate.duckdb"), read_only=True)
    try:
        kept = {(t, k): bool(v) for t, k, v in con.execute(
            "select table_name, record_key, kept from main_validation.tos_row_status").fetchall()}
    finally:
        con.close()
    return {
        "code": proc.returncode, "stdout": proc.stdout, "kept": kept,
        "failures": json.loads((report / "validation_report.json").read_text(encoding="utf-8")),
        "summary": json.loads((report / "summary.json").read_text(encoding="utf-8")),
    }


def _codes(run: dict[str, Any], table: str, key: str) -> set[str]:
    return {f["rule_code"] for f in run["failures"] if f["table"] == table and f["record_key"] == key}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("engine_parity")
    vf.empty_warehouse(work)
    return work


# ---- the mixed file: one family per behaviour -------------------------------------------------------------

# table -> (foreign key, its not-blank code, the referential-integrity code that must NOT be reported)
BLANK_FK = {
    "IDS002GP": ("LocalPatientId", "IDS00201", "IDS00220"),
    "IDS012OverseasVisitorChargCat": ("LocalPatientId", "IDS01203", "IDS01201"),
    "IDS108WaitingTimePauses": ("ServiceRequestId", "IDS10805", "IDS10801"),
    "IDS202CareActivity": ("CareContactId", "IDS20203", "IDS20224"),
    "IDS602LongTermCondition": ("ServiceRequestId", "IDS60202", "IDS60201"),
    "IDS603PresentingComplaints": ("ServiceRequestId", "IDS60303", "IDS60301"),
    "IDS606CodedScoreAssessmentRefer": ("ServiceRequestId", "IDS60601", "IDS60612"),
    "IDS607CodedScoreAssessmentAct": ("CareActId", "IDS60701", "IDS60708"),
}
UNKNOWN_SCHEMES = ("XX", "00", "99")


@pytest.fixture(scope="module")
def mixed() -> dict[str, Any]:
    """The IDB and the families of each case (family rows are the dicts in the IDB, as written)."""
    idb = vf.valid_idb(0)
    idb["IDS000Header"][0].update(OrgIDProv=" " + vf.PROVIDER + " ", OrgIDSubmit=vf.PROVIDER + "  ")
    cases: dict[str, Any] = {}

    # 1. padded values: EmployStatus both sides, the patient's own key padded in its children (keys must match
    # the parent's after trimming), OrgIDLocalPatientId compared with the (padded) header's OrgIDProv
    pad = vf.family(0, "G")
    lp = pad["IDS001MPI"][0]["LocalPatientId"]
    pad["IDS004EmpStatus"][0]["EmployStatus"] = "01 "
    pad["IDS001MPI"][0]["OrgIDLocalPatientId"] = vf.PROVIDER + " "
    for table in ("IDS002GP", "IDS003AccommStatus", "IDS007DisabilityType", "IDS101Referral"):
        pad[table][0]["LocalPatientId"] = lp + " "
    pad["IDS101Referral"][0]["ServiceRequestId"] = " " + pad["IDS101Referral"][0]["ServiceRequestId"]
    pad2 = vf.family(1, "G")
    pad2["IDS004EmpStatus"][0]["EmployStatus"] = " 01"
    vf.add(idb, pad)
    vf.add(idb, pad2)
    cases["padded"] = [pad, pad2]

    # 2. a blank foreign key, one table per family
    blank = {}
    for i, (table, (fk, _, _)) in enumerate(sorted(BLANK_FK.items())):
        fam = vf.family(i, "M")
        fam[table][0][fk] = None
        vf.add(idb, fam)
        blank[table] = fam[table][0]
    cases["blank_fk"] = blank

    # 3. an unknown two-character FindSchemeInUse on IDS602 and IDS603
    schemes = []
    for i, scheme in enumerate(UNKNOWN_SCHEMES):
        fam = vf.family(i, "X")
        fam["IDS602LongTermCondition"][0]["FindSchemeInUse"] = scheme
        fam["IDS603PresentingComplaints"][0]["FindSchemeInUse"] = scheme
        vf.add(idb, fam)
        schemes.append(fam)
    cases["schemes"] = schemes

    # 4. scores that are not numbers
    scores = []
    for i, score in enumerate(("#", "abc")):
        fam = vf.family(i, "Y")
        fam["IDS606CodedScoreAssessmentRefer"][0]["PersScore"] = score
        fam["IDS607CodedScoreAssessmentAct"][0]["PersScore"] = score
        vf.add(idb, fam)
        scores.append(fam)
    cases["scores"] = scores
    return {"idb": idb, "cases": cases}


@pytest.fixture(scope="module")
def mixed_run(work: Path, mixed: dict[str, Any]) -> dict[str, Any]:
    return _validate(work, mixed["idb"], "mixed")


def test_padded_strings_are_trimmed_before_validation(mixed_run: dict[str, Any], mixed: dict[str, Any]) -> None:
    """CleanseStage.strip_whitespace (src/dsp/pipelines/common.py) trims leading and trailing spaces of every
    string column before any rule runs: ' RZZ ' passes IDS00030 (so no IDSREJ015), '01 ' / ' 01' pass IDS00406
    and IDS00407, and padded keys still meet their parent."""
    assert mixed_run["summary"]["predicted_outcome"] == "accepted", mixed_run["summary"]["file_reasons"]
    assert mixed_run["code"] == 0
    assert not [f for f in mixed_run["failures"] if f["table"] == "IDS000Header"]
    for fam in mixed["cases"]["padded"]:
        for table, rows in fam.items():
            key = vf.record_key(table, rows[0])  # named from the trimmed values
            assert _codes(mixed_run, table, key) == set(), (table, key)
            assert mixed_run["kept"][(table, key)], (table, key)


def test_a_blank_foreign_key_gets_its_not_blank_code_only(mixed_run: dict[str, Any], mixed: dict[str, Any]) -> None:
    """referential_integrity_rule (src/dsp/validations/common_validation_functions.py) left-joins the parent on
    its key and tests eqNullSafe(child key, parent key): a null key meets the unmatched (null) parent side and
    passes. The row is rejected by its not-blank rule, never with the referential-integrity group code."""
    for table, row in mixed["cases"]["blank_fk"].items():
        fk, not_blank, ri = BLANK_FK[table]
        key = vf.record_key(table, row)
        codes = _codes(mixed_run, table, key)
        assert not_blank in codes, (table, codes)
        assert ri not in codes, (table, codes)
        assert not mixed_run["kept"][(table, key)]


def test_an_unknown_finding_scheme_passes_the_format_rule(mixed_run: dict[str, Any], mixed: dict[str, Any]) -> None:
    """_is_a_valid_scheme_code (src/dsp/udfs/coded_clinical_entry.py) returns true for a scheme it has no
    validator for: IDS60209 / IDS60310 pass, the code-list warnings IDS60206 / IDS60307 report the scheme, and
    the row is kept."""
    expected = {"IDS602LongTermCondition": {"IDS60206"}, "IDS603PresentingComplaints": {"IDS60307"}}
    for fam in mixed["cases"]["schemes"]:
        for table, codes in expected.items():
            key = vf.record_key(table, fam[table][0])
            assert _codes(mixed_run, table, key) == codes, (fam[table][0]["FindSchemeInUse"], table)
            assert mixed_run["kept"][(table, key)]
    assert not [f for f in mixed_run["failures"] if f["rule_code"] in ("IDS60209", "IDS60310", "IDS20228")]


def test_a_score_that_is_not_a_number_fails_the_range_warning(mixed_run: dict[str, Any], mixed: dict[str, Any]) -> None:
    """is_valid_assessment_scale_score (src/dsp/validations/iapt/person_score_validations.py) asks
    PersonScoreWithinRangeValidator.validate_person_score, which returns false when float(score) fails: '#' and
    'abc' get the range warning (IDS60607 / IDS60707) beside the format rejection (IDS60615 / IDS60711)."""
    expected = {"IDS606CodedScoreAssessmentRefer": {"IDS60607", "IDS60615"},
                "IDS607CodedScoreAssessmentAct": {"IDS60707", "IDS60711"}}
    for fam in mixed["cases"]["scores"]:
        for table, codes in expected.items():
            key = vf.record_key(table, fam[table][0])
            assert _codes(mixed_run, table, key) == codes, (fam[table][0]["PersScore"], table)


# ---- IDSREJ015 for an invalid header: an inference, and marked as one ---------------------------------------

def test_idsrej015_for_an_invalid_header_is_marked_inferred(work: Path) -> None:
    """IDSREJ015 is a placeholder_rule in src/dsp/validations/iapt/validations.py ("Invalid Header Table
    Validation", logic in the unpublished pipeline): that a header failing a record rule rejects the file is
    our reading of its message, so the report, summary.json and the printed outcome say "inferred"."""
    idb = vf.valid_idb(1)
    idb["IDS000Header"][0]["PrimSystemInUse"] = "X" * 21
    run = _validate(work, idb, "bad_header")
    assert run["code"] == 1
    assert _codes(run, "IDS000Header", "HeaderRow=1") == {"IDS00013"}
    [rej] = [f for f in run["failures"] if f["rule_code"] == "IDSREJ015"]
    assert rej["message"].startswith("[inferred]")
    [reason] = run["summary"]["file_reasons"]
    assert reason["rule_code"] == "IDSREJ015" and reason["published"] is True and reason["inferred"] is True
    [rule] = [r for r in run["summary"]["rules"] if r["rule_code"] == "IDSREJ015"]
    assert rule["inferred"] is True
    assert not [r for r in run["summary"]["rules"] if r["rule_code"] != "IDSREJ015" and "inferred" in r]
    assert "FILE REJECTED - IDSREJ015 [inferred] (1)" in run["stdout"]


# ---- the export writes the text the platform will validate -------------------------------------------------

def test_export_trims_text_as_the_platform_cleanses_it() -> None:
    """The .accdb holds each text value as CleanseStage.strip_whitespace leaves it (outer spaces trimmed,
    an emptied value null), so the file and the predicted verdict judge the same text."""
    from accdb_fixtures import PERIOD, fresh_dir, replica, variant_db
    from iapt_idb.accdb.reader import load_accdb_to_duckdb
    from iapt_idb.accdb.writer import export_idb

    db = variant_db(
        "padded_text",
        """UPDATE main."IDS000Header" SET "OrgIDProv" = ' RXX ', "OrgIDSubmit" = '   '""",
        """UPDATE main."IDS004EmpStatus" SET "EmployStatus" = '01 ' """,
        """UPDATE main."IDS001MPI" SET "LocalPatientId" = ' ' || "LocalPatientId" || '  '""",
        """UPDATE main."IDS000Header" SET "PrimSystemInUse" = chr(9) || 'Lumen '""",
    )
    out = fresh_dir("padded_export") / "padded.accdb"
    export_idb(db, out, PERIOD, progress=False)
    replica()  # the session's JVM reads the file back
    back = fresh_dir("padded_loaded") / "back.duckdb"
    load_accdb_to_duckdb(out, back, progress=False)
    src = duckdb.connect(str(db), read_only=True)
    dst = duckdb.connect(str(back), read_only=True)
    try:
        assert dst.execute('SELECT "OrgIDProv", "OrgIDSubmit" FROM main."IDS000Header"').fetchall() == [("RXX", None)]
        assert {r[0] for r in dst.execute('SELECT "EmployStatus" FROM main."IDS004EmpStatus"').fetchall()} == {"01"}
        want = sorted(r[0].strip(" ") for r in src.execute('SELECT "LocalPatientId" FROM main."IDS001MPI"').fetchall())
        assert sorted(r[0] for r in dst.execute('SELECT "LocalPatientId" FROM main."IDS001MPI"').fetchall()) == want
        # only spaces are trimmed (Spark's trim), not a tab
        assert dst.execute('SELECT "PrimSystemInUse" FROM main."IDS000Header"').fetchall() == [("\tLumen",)]
    finally:
        src.close()
        dst.close()


def test_docs_site_marks_idsrej015_inferred(tmp_path: Path) -> None:
    """The site shows the same mark as the report: an "inferred" badge on IDSREJ015 in the file verdict, the
    ranked rules and the rule's page, and only there."""
    import docs_fixtures as df
    from iapt_idb.docs_site import build_site

    fx = df.make_fixture(tmp_path / "inputs")
    rej = dict(rule_code="IDSREJ015", severity="file_reject", table="IDS000Header", record_key="File",
               columns="(IDS000 row count)", message="[inferred] the IDS000Header row fails a record-level header rule")
    df._write_report(fx.report_dir, fx.period, df.failures() + [rej])
    summary = json.loads((fx.report_dir / "summary.json").read_text(encoding="utf-8"))
    for entry in summary["rules"] + summary["file_reasons"]:
        if entry["rule_code"] == "IDSREJ015":
            entry["inferred"] = True
    (fx.report_dir / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    index = build_site(fx.period, tmp_path / "site", fx.report_dir, fx.target_db, history_dir=fx.history_dir,
                       dbt_docs=False, manifest_path=fx.manifest, dbt_static_index=fx.static_index)
    site = index.parent if index.is_file() else index
    badge = ">inferred</span>"
    html = (site / "index.html").read_text(encoding="utf-8")
    assert html.count(badge) == 2  # the file verdict and the ranked rules
    rule_page = (site / "rules" / "IDSREJ015.html").read_text(encoding="utf-8")
    assert badge in rule_page and "rests on our reading of the rule" in rule_page
    assert badge not in (site / "rules" / "IDSREJ006.html").read_text(encoding="utf-8")
