"""Local rules and reworded fix text (rules/local_rules.yml), the one list of check kinds, and the messages
of the rules' front door: a local rule is reported on its known-bad record (marked local) and never changes
the platform's predicted verdict; a national code is refused; grammar and code-list gaps name the rule."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import validation_fixtures as vf
from conftest import isolated_env, run_cli
from iapt_idb.errors import UserError
from iapt_idb.paths import ROOT
from iapt_idb.validation import catalogue, checks, grammar, local_rules

LOCAL_RULE = """\
local_rules:
  - code: LOCAL-PCD-001
    table: IDS001MPI
    check: regex
    params: {column: Postcode, pattern: '^LS'}
    severity: record_reject
    description: Patients of this service live in the LS postcode area.
    fix_hint: Check the address; refer patients from outside the area on.
fix_hints:
  IDS10104: Every referral needs its SERVICE REQUEST IDENTIFIER; re-open the referral and save it.
"""


def _rule(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "code": "LOCAL-T-1", "table": "IDS001MPI", "check": "regex", "params": {"column": "Postcode", "pattern": "^LS"},
        "severity": "warning", "description": "A house rule.",
    }
    raw.update(over)
    return raw


def _refused(raw: dict[str, object], national: set[str] | None = None) -> str:
    with pytest.raises(UserError) as exc:
        local_rules.validate_rule(raw, national or {"IDS00001"}, set(), "rules/local_rules.yml")
    assert exc.value.exit_code == 2
    return str(exc.value)


def test_local_rule_problems_are_named() -> None:
    msg = _refused(_rule(code="IDS00001"))
    assert "IDS00001 is a national rule code" in msg and "LOCAL-" in msg
    assert "starts LOCAL-" in _refused(_rule(code="HOUSE-1"))
    assert "'parent_valid' runs in the cascade stage" in _refused(
        _rule(check="parent_valid", params={"parent_table": "IDS001MPI", "key": "LocalPatientId"}))
    assert "'nope' is not a check kind" in _refused(_rule(check="nope"))
    assert "severity 'fatal'" in _refused(_rule(severity="fatal"))
    assert "missing pattern" in _refused(_rule(params={"column": "Postcode"}))
    assert "table 'IDS999'" in _refused(_rule(table="IDS999"))
    assert "missing description" in _refused(_rule(description=""))
    ok = local_rules.validate_rule(_rule(table="IDS001"), set(), set(), "f")
    assert ok["table"] == "IDS001MPI"


def test_local_rules_and_fix_hints_enter_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    national = {r.rule_code: r for r in catalogue.build()}
    path = tmp_path / "local_rules.yml"
    path.write_text(LOCAL_RULE, encoding="utf-8")
    monkeypatch.setattr(local_rules, "LOCAL_RULES_FILE", path)
    catalogue.build.cache_clear()
    try:
        rules = {r.rule_code: r for r in catalogue.build()}
    finally:
        catalogue.build.cache_clear()
    assert set(rules) - set(national) == {"LOCAL-PCD-001"}
    local = rules["LOCAL-PCD-001"]
    assert (local.check, local.severity, local.table_name, local.columns) == ("regex", "record_reject", "IDS001MPI",
                                                                              "Postcode")
    assert local.fix_hint == "Check the address; refer patients from outside the area on."
    assert "tos_local_failures" in local.implemented_by
    # one rule's advice reworded, every other rule's unchanged
    assert rules["IDS10104"].fix_hint == "Every referral needs its SERVICE REQUEST IDENTIFIER; re-open the referral and save it."
    assert national["IDS10104"].fix_hint != rules["IDS10104"].fix_hint
    changed = [c for c in national if national[c].fix_hint != rules[c].fix_hint]
    assert changed == ["IDS10104"]


def test_fix_hint_for_an_unknown_code_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "local_rules.yml"
    path.write_text("fix_hints:\n  IDS99999: Do something.\n", encoding="utf-8")
    monkeypatch.setattr(local_rules, "LOCAL_RULES_FILE", path)
    catalogue.build.cache_clear()
    try:
        with pytest.raises(UserError, match="IDS99999 is not a rule code"):
            catalogue.build()
    finally:
        catalogue.build.cache_clear()


def test_condition_not_understood_names_the_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "validation_rules.csv"
    spec.write_text("rule_code,table_id,columns,severity,rule_type,description,condition_plain,source_note\n"
                    "IDS10199,IDS101,ServiceRequestId,warning,format,Odd.,FAIL if the moon is full,[v2.1: carried]\n",
                    encoding="utf-8")
    monkeypatch.setattr(catalogue, "PUBLISHED_CSV", spec)
    monkeypatch.setattr(catalogue, "INFERRED_SOURCES", ())
    with pytest.raises(grammar.GrammarError) as exc:
        catalogue._national_rules()
    msg = str(exc.value)
    assert "IDS10199" in msg and "IDS101Referral" in msg and "'FAIL if the moon is full'" in msg
    assert "grammar.py" in msg and "OVERRIDES" in msg


def test_code_list_gap_names_rule_table_and_column() -> None:
    with pytest.raises(grammar.GrammarError) as exc:
        grammar.parse_condition("FAIL if HouseCode NOT IN (1,2)", "IDS10198", "IDS101Referral")
    msg = str(exc.value)
    assert "IDS10198" in msg and "IDS101Referral" in msg and "HouseCode" in msg
    assert "CODE_LISTS" in msg and "tables.py" in msg


def test_one_list_of_check_kinds() -> None:
    """Python, Jinja and the test fixtures read the check kinds from validation/checks.py."""
    generated = (ROOT / "macros" / "tos" / "_tos_generated.sql").read_text(encoding="utf-8")
    m = re.search(r"macro tos_check_kinds\(\) %\}.*?return\((\{.*?\})\)", generated, re.S)
    assert m, "tos_check_kinds() missing from _tos_generated.sql"
    assert json.loads(m.group(1)) == {"row": list(checks.ROW_CHECKS), "cascade": list(checks.CASCADE_CHECKS),
                                      "file": list(checks.FILE_CHECKS)}
    assert catalogue.ROW_CHECKS is checks.ROW_CHECKS and catalogue.ALL_CHECKS is checks.ALL_CHECKS
    assert vf.ROW_AND_CASCADE_CHECKS == checks.ROW_CHECKS + checks.CASCADE_CHECKS
    # no hand-kept copy of the list left in the SQL
    for path in [*(ROOT / "macros" / "tos").glob("*.sql"), *(ROOT / "models" / "validation").glob("*.sql")]:
        if path.name != "_tos_generated.sql":
            text = path.read_text(encoding="utf-8")
            assert "'not_blank', 'length'" not in text and "'table_not_empty', 'header_single'" not in text, path
    # every row kind's macro lives in the file named for it
    for kind in checks.ROW_CHECKS:
        assert (ROOT / "macros" / "tos" / f"{catalogue.check_macro(kind)}.sql").is_file(), kind


# ------------------------------------------------------------------------------------------------
# end to end: a project copy with a local rule, validated on a CSV-folder IDB
# ------------------------------------------------------------------------------------------------

_COPY_SKIP = {".git", ".venv", "data", "output", "target", "logs", "dbt_packages", "__pycache__", ".pytest_cache"}


def _project_copy(dest: Path, rules_text: str) -> Path:
    shutil.copytree(ROOT, dest, ignore=lambda d, names: [n for n in names if n in _COPY_SKIP])
    (dest / "rules" / "local_rules.yml").write_text(rules_text, encoding="utf-8")
    return dest


def _generate(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**isolated_env(project), "IAPT_IDB_PROJECT_DIR": str(project)}
    return subprocess.run([sys.executable, "-m", "iapt_idb.validation.catalogue"], cwd=project, env=env, text=True,
                          capture_output=True, timeout=300)


def test_national_code_refused_by_generator_and_validate(tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "project", LOCAL_RULE.replace("LOCAL-PCD-001", "IDS00116"))
    gen = _generate(project)
    assert gen.returncode == 2, gen.stderr
    assert "local rule IDS00116: IDS00116 is a national rule code" in gen.stderr
    src = vf.write_csv_dir(vf.valid_idb(1), tmp_path / "csv")
    env = {**isolated_env(tmp_path), "IAPT_IDB_PROJECT_DIR": str(project)}
    proc = run_cli(["validate", str(src), "--period", vf.PERIOD, "--report", str(tmp_path / "report"), "--no-gx"],
                   env)
    assert proc.returncode == 2, proc.stderr
    assert "IDS00116 is a national rule code" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_local_rule_reported_on_known_bad_record_only(tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "project", LOCAL_RULE)
    work = tmp_path / "work"
    work.mkdir()
    env = {**isolated_env(work, warehouse=vf.empty_warehouse(work)), "IAPT_IDB_PROJECT_DIR": str(project)}
    src = vf.write_csv_dir(vf.valid_idb(2), work / "csv")
    report = work / "report"
    args = ["validate", str(src), "--period", vf.PERIOD, "--report", str(report), "--no-gx"]
    stale = run_cli(args, env)  # the seed was generated without the local rule: refused, the fix named
    assert stale.returncode == 2 and "python -m iapt_idb.validation.catalogue" in stale.stderr, stale.stderr
    assert _generate(project).returncode == 0
    good = run_cli(args, env)
    assert good.returncode == 0, good.stderr[-3000:]
    assert json.loads((report / "validation_report.json").read_text(encoding="utf-8")) == []

    idb = vf.valid_idb(2)
    bad = idb["IDS001MPI"][1]
    bad["Postcode"] = "BD1 1AA"  # a valid postcode (no national rule fires), outside the house rule's area
    vf.write_csv_dir(idb, src)
    proc = run_cli(args, env)
    assert proc.returncode == 0, proc.stderr[-3000:]  # a local record_reject never rejects for the platform
    failures = json.loads((report / "validation_report.json").read_text(encoding="utf-8"))
    assert len(failures) == 1, failures
    (f,) = failures
    assert (f["rule_code"], f["severity"], f["table"], f["record_key"], f["columns"]) == (
        "LOCAL-PCD-001", "record_reject", "IDS001MPI", vf.record_key("IDS001MPI", bad), "Postcode")
    assert f["message"].startswith(local_rules.LOCAL_MARK + " ") and "Postcode" in f["message"]
    assert "BD1 1AA" not in f["message"]  # a postcode is never printed
    csv_text = (report / "validation_report.csv").read_text(encoding="utf-8")
    assert "LOCAL-PCD-001,record_reject,IDS001MPI," in csv_text and "[local]" in csv_text
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["predicted_outcome"] == "accepted"
    assert all(t["rows_kept"] == t["rows_submitted"] for t in summary["tables"])
    assert summary["failures_by_severity"]["record_reject"] == 0
    assert summary["local"] == {"rules": 1, "failures_by_severity": {
        "file_reject": 0, "group_reject": 0, "record_reject": 1, "warning": 0}}
    (rule,) = summary["rules"]
    assert rule["rule_code"] == "LOCAL-PCD-001" and rule["local"] is True and rule["records"] == 1
    assert rule["fix_hint"] == "Check the address; refer patients from outside the area on."
    assert summary["catalogue"]["rules"] == 418  # the national catalogue's count is unchanged
    assert "LOCAL-PCD-001 [local]" in proc.stdout
    assert "BD1 1AA" not in proc.stdout + proc.stderr  # the postcode is only in the report's message


def test_every_rule_fits_its_check_kind() -> None:
    """checks.py says which params each kind takes: every rule of the catalogue gives exactly those."""
    for r in catalogue.load_rules():
        if r["check_name"]:
            kind = checks.BY_NAME[r["check_name"]]
            assert set(kind.required) <= set(r["params"]) <= set(kind.required) | set(kind.optional), r["rule_code"]
