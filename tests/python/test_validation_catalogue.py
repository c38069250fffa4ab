"""The TOS rules catalogue: complete, generated from the spec, every applicable rule implemented (no dbt)."""

from __future__ import annotations

import csv
import re

import pytest

from iapt_idb.paths import ROOT, SPEC_DIR
from iapt_idb.validation import catalogue
from iapt_idb.validation.catalogue import load_rules
from iapt_idb.validation.hints import macro_file
from iapt_idb.validation.tables import meta

RULES = load_rules()
SPEC_CODES = [r["rule_code"] for r in csv.DictReader((SPEC_DIR / "validation_rules.csv").open(encoding="utf-8"))]
INFERRED_CODES = [
    r["rule_code"]
    for name in ("validation_rules_v21_new_items.csv", "validation_rules_idb_storage.csv")
    for r in csv.DictReader((SPEC_DIR / name).open(encoding="utf-8"))
]


def test_generated_files_are_up_to_date() -> None:
    assert catalogue.main(["--check"]) == 0, "run: python -m iapt_idb.validation.catalogue"


def test_every_spec_rule_code_once_and_unpublished_visible() -> None:
    codes = [r["rule_code"] for r in RULES]
    assert len(codes) == len(set(codes)) == 418
    assert codes == SPEC_CODES + INFERRED_CODES
    for r in RULES:
        assert (r["published"] == "true") == (not r["rule_code"].startswith("UNPUBLISHED("))


def test_no_applicable_rule_left_without_a_check() -> None:
    for r in RULES:
        if r["v21_applicable"] == "true":
            assert r["check_name"] in catalogue.ALL_CHECKS, r["rule_code"]
            assert r["status"] in ("implemented", "not_checkable_before_upload"), r["rule_code"]
            assert r["fix_hint"] and r["implemented_by"], r["rule_code"]
        else:
            assert r["status"] == "not_applicable_v21" and not r["check_name"] and r["status_reason"]
    not_applicable = {r["rule_code"] for r in RULES if r["status"] == "not_applicable_v21"}
    removed_items = {"OrgIDResidenceResp", "OrgIDGPPrac", "JSAInd", "OtherBenefitInd"}
    assert not_applicable == {r["rule_code"] for r in RULES if r["columns"] in removed_items}
    assert len(not_applicable) == 9


def test_not_checkable_rules_say_why_and_run_an_approximation() -> None:
    ncb = [r for r in RULES if r["status"] == "not_checkable_before_upload"]
    assert {r["rule_code"] for r in ncb} >= {"IDS00016", "IDS00019", "IDS00027", "IDS00030", "IDS00125", "IDS00206"}
    for r in ncb:
        assert "local approximation" in r["status_reason"], r["rule_code"]
        assert r["check_name"] in catalogue.ROW_CHECKS, r["rule_code"]


def test_every_check_has_its_macro() -> None:
    for check in catalogue.ROW_CHECKS:
        path = ROOT / macro_file(check)  # the file is named for the macro it defines
        assert path.stem == catalogue.check_macro(check), check
        assert f"macro {catalogue.check_macro(check)}(" in path.read_text(encoding="utf-8"), check
    macros = (ROOT / "macros" / "tos" / "tos_file_checks.sql").read_text(encoding="utf-8")
    for check in catalogue.FILE_CHECKS:
        assert f"macro tos_file_{check}(" in macros, check


def test_columns_named_by_checks_exist_in_v21_tables() -> None:
    for r in RULES:
        p = r["params"]
        for key in ("column", "scheme_column", "tool_column", "only_null"):
            if key in p:
                assert p[key] in meta(r["table_name"]).columns, r["rule_code"]


def test_v21_choices() -> None:
    by = {r["rule_code"]: r for r in RULES}
    # the data-set version rule uses the version list, whose only value valid from 2022-04 is 2.1
    assert by["IDS00003"]["params"] == {"column": "DatSetVer", "code_list": "data_set_version_number"}
    # renamed items are checked under their v2.1 names and lists
    assert by["IDS20120"]["params"]["column"] == "ConsMechanism"
    assert by["IDS20120"]["params"]["code_list"] == "consultation_mechanism_mental_health"
    assert by["IDS10118"]["params"]["column"] == "SourceOfReferralIAPT"
    # the cascade rules and the patient's group rules
    ri = {r["table_name"]: r["rule_code"] for r in RULES if r["check_name"] == "parent_valid"}
    assert ri["IDS201CareContact"] == "IDS20142" and ri["IDS607CodedScoreAssessmentAct"] == "IDS60708"
    assert ri["IDS003AccommStatus"] == "UNPUBLISHED(IDS003-RI)" and len(ri) == 18
    assert {r["rule_code"] for r in RULES if r["check_name"] == "has_valid_child"} == {"IDS00145", "IDS00146"}


@pytest.mark.parametrize("line", [
    ("FAIL if X IS NOT NULL AND LENGTH(X) NOT BETWEEN 2 AND 2", ("length", {"column": "X", "min": 2, "max": 2})),
    ("WARN if Y IS NULL OR TRIM(Y) = ''", ("not_blank", {"column": "Y"})),
    ("FAIL if A > IDS000.ReportingPeriodEndDate + 1 day (both populated)",
     ("date_compare", {"column": "A", "op": ">", "other": {"table": "IDS000Header", "column": "ReportingPeriodEndDate"},
                       "offset": {"n": 1, "unit": "day"}})),
])
def test_condition_parser(line: tuple) -> None:
    text, expected = line
    assert catalogue.parse_condition(text) == expected


def test_assessment_scales_cover_every_tool() -> None:
    scales = catalogue.assessment_scales()
    assert len(scales) == 35
    for s in scales:
        re.compile(s["score_format_regex"])
        assert (s["score_min"] != "") != (s["allowed_values"] != ""), s["tool_code"]


def test_gx_not_blank_matches_exactly_what_pythons_white_space_matches() -> None:
    # GX's not_blank pattern spells \s out (so pandas runs it in pyarrow): it must accept the same strings.
    import pandas as pd

    from iapt_idb.validation.gx import BLANK, WHITE_SPACE

    every_space = [chr(i) for i in range(0x110000) if re.fullmatch(r"\s", chr(i))]
    assert sorted(WHITE_SPACE) == every_space
    values = ["", " ", "a", " a ", "a\n", "\n", "\r\n", "\u200b", "\ufeff", "x\u3000", *every_space,
              *(c * 3 for c in every_space), *(f" {c}b" for c in every_space)]
    python = [re.search(r"^\s*$", v) is not None for v in values]
    assert [re.search(BLANK, v) is not None for v in values] == python
    # as GX runs it on the frames it is given (pandas' Arrow-backed strings)
    assert pd.Series(values, dtype="str").str.contains(BLANK).tolist() == python
