"""summary.json and the failure rows: one typed definition, written by the validator and read by the site.

The validator's writer (validation.report.write_reports) runs here on small hand-made results (no dbt);
the docs site must read exactly what it writes and refuse, with exit 2 naming the file and the key,
anything else.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from docs_fixtures import Fixture, make_fixture
from iapt_idb.cli import main
from iapt_idb.docs_site.inputs import load_report
from iapt_idb.errors import EXIT_UNUSABLE
from iapt_idb.validation import report
from iapt_idb.validation.summary_schema import (
    FAILURE_COLUMNS, GxSummary, Summary, SummaryError, load_failure_rows, load_summary,
)

PERIOD = "2026-10"


def _results() -> dict[str, list]:
    """What the validation models return for a tiny month: a file-level rejection, an inferred one,
    warnings on two records of one rule."""
    failures = [
        ("IDSREJ012", "file_reject", "", "File", "", "no header"),
        ("IDSREJ015", "file_reject", "IDS000Header", "File", "", report.INFERRED_MARK + " header fails a rule"),
        ("IDS00111", "warning", "IDS001MPI", "LocalPatientId=LP00001", "EthnicCategory", "code not in the list"),
        ("IDS00111", "warning", "IDS001MPI", "LocalPatientId=LP00002", "EthnicCategory", "code not in the list"),
    ]
    tables = [
        {"table_name": "IDS001MPI", "rows_submitted": 2, "rows_kept": 2, "rows_record_rejected": 0,
         "rows_group_rejected": 0, "rows_with_warnings": 2},
        {"table_name": "IDS000Header", "rows_submitted": 1, "rows_kept": 1, "rows_record_rejected": 0,
         "rows_group_rejected": 0, "rows_with_warnings": 0},
    ]
    return {"failures": failures, "tables": tables}


@pytest.fixture()
def written(tmp_path: Path) -> Path:
    not_checked = [{"rule_code": "IDS00030", "reason": "no provider ODS code is configured"}]
    report.write_reports(tmp_path, _results(), [], period=PERIOD, source="marts", not_checked=not_checked)
    return tmp_path


def test_what_the_validator_writes_round_trips(written: Path) -> None:
    path = written / "summary.json"
    text = path.read_text(encoding="utf-8")
    summary = load_summary(path)
    assert summary.dumps() == text  # byte for byte
    assert summary.to_dict() == json.loads(text)
    assert summary.file_rejected and [r.rule_code for r in summary.file_reasons] == ["IDSREJ012", "IDSREJ015"]
    assert [r.inferred for r in summary.file_reasons] == [False, True]
    assert [t.table for t in summary.tables] == ["IDS000Header", "IDS001MPI"]  # IDB order
    assert summary.not_checked and summary.not_checked[0].rule_code == "IDS00030"
    # "inferred" is written only where true, so files without inferences keep their bytes
    rules = {r["rule_code"]: r for r in json.loads(text)["rules"]}
    assert rules["IDSREJ015"]["inferred"] is True and "inferred" not in rules["IDS00111"]
    # the docs site reads the same figures
    rep = load_report(written, PERIOD)
    assert rep.file_rejected and rep.warnings == 2 and rep.rules["IDSREJ015"].inferred
    assert [(f.rule_code, f.record_key) for f in rep.failures][-1] == ("IDS00111", "LocalPatientId=LP00002")


def test_great_expectations_section_round_trips(written: Path) -> None:
    summary = load_summary(written / "summary.json")
    gx = GxSummary(suites=21, expectations=312, success=False, data_docs="gx_data_docs/index.html",
                   failures_by_rule={"IDS00111": 2})
    report.write_summary(written, dataclasses.replace(summary, great_expectations=gx))
    again = load_summary(written / "summary.json")
    assert again.great_expectations == gx
    assert again.dumps() == (written / "summary.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda d: d.update(counts_by_rule={}), "counts_by_rule"),  # an unknown key
        (lambda d: d.pop("warnings"), "warnings"),  # a missing one
        (lambda d: d["rules"][1].pop("records"), "rules[1].records"),
        (lambda d: d["tables"][0].update(rows_kept="2"), "tables[0].rows_kept"),  # text for a number
        (lambda d: d["catalogue"].pop("by_status"), "catalogue.by_status"),
        (lambda d: d.update(predicted_outcome="rejected"), "predicted_outcome"),
    ],
)
def test_a_summary_in_another_shape_is_refused_naming_file_and_key(written: Path, change, key: str) -> None:
    path = written / "summary.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SummaryError) as err:
        load_summary(path)
    assert str(path) in str(err.value) and f"'{key}'" in str(err.value)
    assert err.value.exit_code == EXIT_UNUSABLE


def test_failure_rows_are_read_strictly(written: Path) -> None:
    assert tuple(report.REPORT_COLUMNS) == FAILURE_COLUMNS
    assert len(load_failure_rows(written)) == 4
    path = written / "validation_report.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    rows[2]["code"] = rows[2].pop("rule_code")
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(SummaryError, match=r"\[2\]\.code"):
        load_failure_rows(written)
    path.unlink()  # the CSV is read when there is no JSON
    assert [f.rule_code for f in load_failure_rows(written)][:2] == ["IDSREJ012", "IDSREJ015"]


def test_docs_cli_exits_2_on_an_unknown_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fx: Fixture = make_fixture(tmp_path / "inputs")
    path = fx.report_dir / "summary.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["file_outcome"] = "accepted"
    path.write_text(json.dumps(data), encoding="utf-8")
    code = main(["docs", "--period", fx.period, "--out", str(tmp_path / "site"), "--report", str(fx.report_dir),
                 "--target-db", str(fx.target_db), "--no-dbt-docs"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and str(path) in err and "'file_outcome'" in err
    assert not (tmp_path / "site").exists()


def test_summary_fields_are_exactly_the_files_keys(written: Path) -> None:
    # every key the writer can put in summary.json is a field of Summary, and no field is never written
    data = json.loads((written / "summary.json").read_text(encoding="utf-8"))
    # written by the GX step (tested above) and only when the project has local rules (test_local_rules.py)
    optional = {"great_expectations", "local"}
    assert set(data) | optional == {f.name for f in dataclasses.fields(Summary)}
