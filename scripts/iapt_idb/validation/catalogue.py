"""The TOS rules catalogue: every rule code of the spec, with its structured implementation.

    python -m iapt_idb.validation.catalogue          # (re)write seeds/tos/ and macros/tos/_tos_generated.sql
    python -m iapt_idb.validation.catalogue --check  # exit 1 if any generated file is out of date

Reads ``reference/spec/validation_rules.csv`` (382 published rules) and the inferred checks, codes
``UNPUBLISHED(...)``: ``validation_rules_v21_new_items.csv`` (29, items new in v2.1) and
``validation_rules_idb_storage.csv`` (values the IDB's column types cannot hold, where no published or
v2.1 rule rejects them at record level), and writes:

- ``seeds/tos/tos_rules.csv``: one row per rule code: severity, table, columns, v2.1 applicability, the
  generic ``check`` and its JSON ``params``, a plain-English ``fix_hint``, ``implemented_by`` and ``status``;
- ``seeds/tos/tos_assessment_scales.csv``: per assessment tool the score format and range (parsed from
  the code list's notes), used by the score checks;
- ``seeds/tos/_tos__seeds.yml`` (documentation), ``seeds/tos/tos_coverage.md`` (rule -> where / why not);
- ``macros/tos/_tos_generated.sql``: the table tree, record keys and the code-list seeds the checks use
  (so dbt can see those dependencies at parse time).

``condition_plain`` is parsed mechanically where its shape is regular; ``overrides.OVERRIDES`` holds the
irregular rules. A rule that is neither parsed nor overridden stops the generator: no applicable rule is
ever left without an implementation.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..paths import CODELIST_DIR, ROOT, SEEDS_DIR, SPEC_DIR
from .overrides import NCB, OVERRIDES
from .tables import CODE_LISTS, HEADER_TABLE, meta, table_meta

TOS_SEEDS_DIR = SEEDS_DIR / "tos"
RULES_CSV = TOS_SEEDS_DIR / "tos_rules.csv"
SCALES_CSV = TOS_SEEDS_DIR / "tos_assessment_scales.csv"
SEEDS_YML = TOS_SEEDS_DIR / "_tos__seeds.yml"
COVERAGE_MD = TOS_SEEDS_DIR / "tos_coverage.md"
GENERATED_MACRO = ROOT / "macros" / "tos" / "_tos_generated.sql"
NORM_YML = ROOT / "models" / "validation" / "_tos_norm__models.yml"

PUBLISHED_CSV = SPEC_DIR / "validation_rules.csv"
INFERRED_CSV = SPEC_DIR / "validation_rules_v21_new_items.csv"
STORAGE_CSV = SPEC_DIR / "validation_rules_idb_storage.csv"
# The spec files of inferred checks, each with the note that says where its rules come from.
INFERRED_SOURCES = (
    (INFERRED_CSV, "new v2.1 item; rule inferred: ", "inferred rule for a v2.1 item (no published code)"),
    (STORAGE_CSV, "IDB storage check; rule inferred: ",
     "inferred check: a value the IDB's column cannot hold (no published code)"),
)

COLUMNS = (
    "rule_code", "published", "severity", "rule_type", "table_id", "table_name", "columns",
    "description", "condition_plain", "v21_applicable", "v21_note", "check_name", "params",
    "fix_hint", "implemented_by", "status", "status_reason",
)

# Checks whose SQL runs row by row in model tos_check_failures (macros/tos/tos_check_<check>.sql: macro
# tos_parts_<check> for the row-local checks evaluated in one pass per table, else tos_check_<check>).
ROW_CHECKS = (
    "not_blank", "length", "regex", "valid_date", "valid_datetime", "valid_time", "in_code_list",
    "date_compare", "unique", "cross_field", "submission_metadata", "nhs_number", "age_range",
    "snomed", "scheme_code_format", "assessment_score", "consecutive_registration",
    "discharge_followup", "child_exists",
)
# Checks evaluated by the cascade (model tos_row_status) and the file verdict (model tos_failures).
CASCADE_CHECKS = ("parent_valid", "has_valid_child")
FILE_CHECKS = ("table_not_empty", "header_single", "period_activity", "nothing_valid")
PYTHON_CHECKS = ("structure",)
ALL_CHECKS = ROW_CHECKS + CASCADE_CHECKS + FILE_CHECKS + PYTHON_CHECKS
# Column-level checks that also get a Great Expectations expectation (generated from the same params).
GX_CHECKS = ("not_blank", "length", "regex", "in_code_list")


@dataclass
class Rule:
    rule_code: str
    published: bool
    severity: str
    rule_type: str
    table_id: str
    table_name: str
    columns: str
    description: str
    condition_plain: str
    v21_applicable: bool
    v21_note: str
    check: str = ""
    params: dict[str, Any] | None = None
    fix_hint: str = ""
    implemented_by: str = ""
    status: str = ""
    status_reason: str = ""

    def row(self) -> dict[str, str]:
        return {
            "rule_code": self.rule_code,
            "published": "true" if self.published else "false",
            "severity": self.severity,
            "rule_type": self.rule_type,
            "table_id": self.table_id,
            "table_name": self.table_name,
            "columns": self.columns,
            "description": self.description,
            "condition_plain": self.condition_plain,
            "v21_applicable": "true" if self.v21_applicable else "false",
            "v21_note": self.v21_note,
            "check_name": self.check,
            "params": json.dumps(self.params, sort_keys=True) if self.params is not None else "",
            "fix_hint": self.fix_hint,
            "implemented_by": self.implemented_by,
            "status": self.status,
            "status_reason": self.status_reason,
        }


# ------------------------------------------------------------------------------------------------
# parsing condition_plain
# ------------------------------------------------------------------------------------------------

def _cols(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _other(ref: str | None, column: str) -> dict[str, str]:
    """'IDS000.' + 'ReportingPeriodEndDate' -> {'table': 'IDS000Header', 'column': ...}."""
    if ref:
        return {"table": meta(ref.rstrip(".")).name, "column": column}
    return {"column": column}


_PATTERNS: list[tuple[str, Any]] = [
    (r"^(?:FAIL|WARN) if (\w+) IS NULL(?: OR (?:TRIM\(\w+\) = ''|blank))?$",
     lambda m: ("not_blank", {"column": m[1]})),
    (r"^FAIL if (\w+) IS NOT NULL AND LENGTH\(\w+\) NOT BETWEEN (\d+) AND (\d+)",
     lambda m: ("length", {"column": m[1], "min": int(m[2]), "max": int(m[3])})),
    (r"^FAIL if (\w+) IS NOT NULL AND LENGTH <> (\d+)$",
     lambda m: ("length", {"column": m[1], "min": int(m[2]), "max": int(m[2])})),
    (r"^FAIL if LENGTH\((\w+)\) > (\d+)$",
     lambda m: ("length", {"column": m[1], "min": 0, "max": int(m[2])})),
    (r"^FAIL if (\w+) (?:IS NOT NULL|populated|is populated) AND NOT matches (\^\S*\$)",
     lambda m: ("regex", {"column": m[1], "pattern": m[2], "fail_on": "no_match"})),
    (r"^FAIL if (\w+) IS NOT NULL AND \(not a valid date OR < (\d{4}-\d{2}-\d{2})",
     lambda m: ("valid_date", {"column": m[1], **({"from": m[2]} if m[2] != "1890-01-01" else {})})),
    (r"^FAIL if (\w+) populated AND \(not a valid timestamp",
     lambda m: ("valid_datetime", {"column": m[1]})),
    (r"^FAIL only if (\w+) cannot be parsed as a time",
     lambda m: ("valid_time", {"column": m[1]})),
    (r"^(?:WARN|FAIL) if (\w+) (?:IS NOT NULL AND (?:\w+ )?)?NOT IN \(",
     lambda m: ("in_code_list", {"column": m[1], "code_list": CODE_LISTS[m[1]]})),
    (r"^FAIL if (\w+) ([<>]) (IDS\d{3}\.)?(\w+)(?: \+ (\d+) (day|years?))? \(both populated\)$",
     lambda m: ("date_compare", {
         "column": m[1], "op": m[2], "other": _other(m[3], m[4]),
         **({"offset": {"n": int(m[5]), "unit": "year" if m[6].startswith("year") else "day"}} if m[5] else {}),
     })),
    (r"^FAIL if invalid date OR (\w+) > (\w+)$",
     lambda m: ("date_compare", {
         "column": m[1], "op": ">", "other": {"table": HEADER_TABLE, "column": m[2]}, "invalid_fails": True,
     })),
    (r"^FAIL if (\w+) > (ReportingPeriod\w+)$",
     lambda m: ("date_compare", {"column": m[1], "op": ">", "other": {"table": HEADER_TABLE, "column": m[2]}})),
    (r"COUNT\(\*\) OVER \((?:PARTITION BY )?([\w, ]+)\) > 1(?! for populated)(.*)$",
     lambda m: ("unique", {"columns": _cols(m[1]), "nulls": "equal" if "equal" in m[2] else "distinct"})),
    (r"^FAIL if COUNT\(\*\) OVER \(PARTITION BY (\w+)\) > 1 for populated",
     lambda m: ("unique", {"columns": [m[1]], "nulls": "distinct"})),
    (r"^FAIL if COUNT\((IDS\d{3})\) = 0$",
     lambda m: ("table_not_empty", {"table": meta(m[1]).name})),
    (r"^FAIL if NOT EXISTS (?:a )?valid (IDS\d{3}) (?:row )?with same (\w+)$",
     lambda m: ("has_valid_child", {"child_table": meta(m[1]).name, "key": m[2]})),
    (r"^FAIL if NOT EXISTS (?:valid )?(IDS\d{3}) (?:row )?with same (\w+)(?: that has no rejecting error)?$",
     lambda m: ("parent_valid", {"parent_table": meta(m[1]).name, "key": m[2]})),
    (r"^(?:WARN|FAIL) if (\w+) NOT IN \(",
     lambda m: ("in_code_list", {"column": m[1], "code_list": CODE_LISTS[m[1]]})),
]


def parse_condition(condition: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, build in _PATTERNS:
        m = re.search(pattern, condition)
        if m:
            return build(m)
    return None


# ------------------------------------------------------------------------------------------------
# hints and implementation notes
# ------------------------------------------------------------------------------------------------

def _other_text(other: dict[str, str]) -> str:
    if "literal" in other:
        return other["literal"]
    if other.get("table") == HEADER_TABLE:
        return f"the header's {other['column']}"
    if other.get("table"):
        return f"{other['column']} on the {meta(other['table']).table_id} parent record"
    return other["column"]


def fix_hint(rule: Rule) -> str:
    p = rule.params or {}
    c = p.get("column", "")
    t = rule.table_name
    check = rule.check
    if check == "not_blank":
        return f"Supply {c} on every {t} row; map the source field and check it is filled in the clinical system."
    if check == "length":
        return f"{c} must be {p['min']}-{p['max']} characters; check the mapping does not pad, truncate or add prefixes."
    if check == "regex":
        if p.get("fail_on") == "match":
            return f"Write {c} in the preferred form (the value matches {p['pattern']}, which is only tolerated)."
        return f"Correct the format of {c}: it must match {p['pattern']}."
    if check == "valid_date":
        return (f"{c} must be a real calendar date (YYYY-MM-DD) on or after {p.get('from', '1890-01-01')}; "
                "fix typos and placeholder dates.")
    if check == "valid_datetime":
        return f"{c} must be a real timestamp (YYYY-MM-DDThh:mm:ss) on or after 1890-01-01."
    if check == "valid_time":
        return f"{c} must be a valid time of day (hh:mm:ss)."
    if check == "in_code_list":
        return (f"Map local codes of {c} to the national list ({p['code_list']}); add the missing local codes "
                f"to the mapping seed rather than sending local values.")
    if check == "date_compare":
        word = {"<": "before", ">": "after"}[p["op"]]
        off = p.get("offset")
        off_text = f" plus {off['n']} {off['unit']}(s)" if off else ""
        return f"{c} must not be {word} {_other_text(p['other'])}{off_text}; check the date entered in the clinical system."
    if check == "unique":
        if p.get("only_null"):
            return (f"Only one {t} row per {', '.join(p['columns'])} may leave {p['only_null']} empty; "
                    f"close the older record or remove the duplicate.")
        return f"Remove duplicate {t} rows: {', '.join(p['columns'])} must identify one row."
    if check == "cross_field":
        cols = sorted({q["column"] for q in p["predicates"]})
        return f"Make {' and '.join(cols)} consistent with each other (see the rule description)."
    if check == "submission_metadata":
        return f"Set {c} to the value the upload will declare (reporting period / ODS code / creation time)."
    if check == "nhs_number":
        return "Correct or blank the NHS number: it must be 10 digits with a valid modulus-11 check digit; trace via PDS."
    if check == "age_range":
        return "Correct the birth date: it is after the reporting period or implies an age over 120."
    if check == "snomed":
        return f"{c} must be a valid SNOMED CT identifier (digits, Verhoeff check digit, concept partition)."
    if check == "scheme_code_format":
        return f"{c} must have the shape its scheme ({p['scheme_column']}) requires: ICD-10 4-6 characters, SNOMED CT digits."
    if check == "assessment_score":
        if p["kind"] == "format":
            return "Send the score in the format the questionnaire uses (digits, decimals or Y/N as listed)."
        return "The score is outside the questionnaire's range; check the total and the tool code."
    if check == "consecutive_registration":
        return "Send the patient's next GP registration (starting when this one ends), or check the end date."
    if check == "discharge_followup":
        return "Only submit referrals discharged before the period if they carry a follow-up contact (AppType 06) or PEQ."
    if check == "child_exists":
        return "Record the care activity (IDS202) for every attended contact."
    if check == "parent_valid":
        return (f"Fix the parent {meta(p['parent_table']).table_id} record ({p['key']}) first: this row is removed "
                f"because its parent is missing or rejected.")
    if check == "has_valid_child":
        return (f"Every patient needs at least one valid {meta(p['child_table']).table_id} row; fix the rejected "
                f"rows or send the missing one.")
    if check == "table_not_empty":
        return f"The file must contain {p['table']} rows; check the build selected the right reporting period."
    if check == "header_single":
        return "Send exactly one IDS000 header row, with every header rule passing."
    if check == "period_activity":
        return "Check the reporting period: nothing in the file belongs to it."
    if check == "nothing_valid":
        return "Every referral was rejected; fix the most frequent record/group rejections first."
    if check == "structure":
        return "Export all 21 IDB tables with exactly the specified columns (use iapt-idb export)."
    raise ValueError(f"no fix hint for check {check!r}")


def check_macro(check: str) -> str:
    """The macro holding a row check's SQL: tos_parts_<check> (condition + message, run in the table's one
    pass) when macros/tos/tos_check_<check>.sql defines it, else tos_check_<check> (a query of its own)."""
    text = (ROOT / "macros" / "tos" / f"tos_check_{check}.sql").read_text(encoding="utf-8")
    return f"tos_parts_{check}" if f"macro tos_parts_{check}(" in text else f"tos_check_{check}"


def implemented_by(rule: Rule) -> str:
    if rule.check in ROW_CHECKS:
        where = f"macro {check_macro(rule.check)} -> model tos_check_failures"
        if rule.check in GX_CHECKS:
            where += "; Great Expectations suite tos_" + rule.table_name
        return where
    if rule.check in CASCADE_CHECKS:
        return "model tos_row_status (cascade) -> model tos_failures"
    if rule.check in FILE_CHECKS:
        return f"macro tos_file_{rule.check} -> model tos_failures"
    return "python: iapt_idb.validation.sources"


# ------------------------------------------------------------------------------------------------
# building the catalogue
# ------------------------------------------------------------------------------------------------

def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _v21(note: str) -> tuple[bool, str]:
    m = re.match(r"^\[v2\.1: ([^\]]*)\]", note)
    text = m.group(1) if m else note
    if "NOT in the v2.1 model" in text:
        return False, text
    return True, text


def _table_of(table_id: str) -> str:
    m = re.match(r"^(IDS\d{3})", table_id)
    return meta(m.group(1)).name if m else ""


@lru_cache(maxsize=None)
def build() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    sources = [(True, PUBLISHED_CSV, "", "")] + [(False, *src) for src in INFERRED_SOURCES]
    for published, path, note_prefix, inferred_reason in sources:
        for r in _read(path):
            applicable, note = _v21(r["source_note"]) if published else (True, note_prefix + r["source_note"])
            table_id = r["table_id"]
            tname = _table_of(table_id)
            if r["rule_code"] in ("IDSREJ012",):
                tname = ""  # file-wide
            rule = Rule(
                rule_code=r["rule_code"], published=published, severity=r["severity"], rule_type=r["rule_type"],
                table_id=table_id.split(" ")[0] if table_id.startswith("IDS") else "", table_name=tname,
                columns=r["columns"], description=r["description"], condition_plain=r["condition_plain"],
                v21_applicable=applicable, v21_note=note,
            )
            if not applicable:
                rule.status = "not_applicable_v21"
                rule.status_reason = note
                rules.append(rule)
                continue
            over = OVERRIDES.get(rule.rule_code)
            parsed = (over["check"], over["params"]) if over else parse_condition(rule.condition_plain)
            if parsed is None:
                raise SystemExit(f"{rule.rule_code}: condition not parsed and no override: {rule.condition_plain!r}")
            rule.check, rule.params = parsed
            if rule.check == "has_valid_child" and meta(rule.table_name).parent_table == rule.params["child_table"]:
                # "NOT EXISTS valid <parent> with same key" on a child table is the referential-integrity rule
                rule.check = "parent_valid"
                rule.params = {"parent_table": rule.params["child_table"], "key": rule.params["key"]}
            if rule.check not in ALL_CHECKS:
                raise SystemExit(f"{rule.rule_code}: unknown check {rule.check!r}")
            rule.status = (over or {}).get("status", "implemented")
            rule.status_reason = (over or {}).get("reason", "")
            if not published and not rule.status_reason:
                rule.status_reason = inferred_reason
            rule.fix_hint = fix_hint(rule)
            rule.implemented_by = (over or {}).get("implemented_by") or implemented_by(rule)
            _check_columns(rule)
            rules.append(rule)
    codes = [r.rule_code for r in rules]
    if len(codes) != len(set(codes)):
        raise SystemExit("duplicate rule codes in the spec CSVs")
    return tuple(rules)


def _check_columns(rule: Rule) -> None:
    """Every column a check names must exist in the rule's table (or the table it points at)."""
    if not rule.table_name:
        return
    cols = set(meta(rule.table_name).columns)
    p = rule.params or {}
    named = [p[k] for k in ("column", "scheme_column", "tool_column", "only_null") if k in p]
    named += p.get("columns", []) + [q["column"] for q in p.get("predicates", []) + p.get("filter", []) + p.get("when", [])]
    for c in named:
        if c not in cols:
            raise SystemExit(f"{rule.rule_code}: column {c} is not in {rule.table_name}")
    other = p.get("other") or {}
    if "column" in other:
        ocols = set(meta(other.get("table", rule.table_name)).columns)
        if other["column"] not in ocols:
            raise SystemExit(f"{rule.rule_code}: column {other['column']} not in {other.get('table', rule.table_name)}")


# ------------------------------------------------------------------------------------------------
# assessment scales (from the assessment_tools_snomed code list notes)
# ------------------------------------------------------------------------------------------------

def _format_regex(fmt: str) -> str:
    fmt = fmt.strip()
    m = re.match(r"^(\d+)(?:-(\d+))? (digits?|letters?)$", fmt)
    if m:
        lo, hi = m.group(1), m.group(2) or m.group(1)
        cls = "[0-9]" if m.group(3).startswith("digit") else "[A-Za-z]"
        return f"^{cls}{{{lo},{hi}}}$"
    if fmt == "d.d or d.dd":
        return r"^[0-9]\.[0-9]{1,2}$"
    raise SystemExit(f"assessment score format not understood: {fmt!r}")


def assessment_scales() -> list[dict[str, str]]:
    out = []
    for r in _read(CODELIST_DIR / "assessment_tools_snomed.csv"):
        notes = r["notes"]
        rng = re.search(r"score range (\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)", notes)
        allowed = re.search(r"allowed values ([A-Za-z/]+)", notes)
        fmt = re.search(r"score format ([^;]+)$", notes)
        if not fmt or not (rng or allowed):
            raise SystemExit(f"assessment tool {r['code']}: notes not understood: {notes!r}")
        out.append({
            "tool_code": r["code"],
            "tool_name": r["description"],
            "score_format_regex": _format_regex(fmt.group(1)),
            "score_min": rng.group(1) if rng else "",
            "score_max": rng.group(2) if rng else "",
            "allowed_values": allowed.group(1).replace("/", ",") if allowed else "",
        })
    return sorted(out, key=lambda d: d["tool_code"])


# ------------------------------------------------------------------------------------------------
# writers
# ------------------------------------------------------------------------------------------------

def _csv(rows: list[dict[str, str]], columns: tuple[str, ...] | list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def _yaml() -> str:
    col_docs = {
        "rule_code": "Rule code exactly as published (IDSREJnnn file level, IDSnnnnn record/group/warning), or UNPUBLISHED(...) for inferred v2.1 checks.",
        "published": "true for a published national rule; false for an inferred check on a v2.1 item (code UNPUBLISHED(...)).",
        "severity": "file_reject, group_reject, record_reject or warning (the platform's effect).",
        "rule_type": "Kind of rule in the spec (format, mandatory, code_list, reporting_period, uniqueness, referential, ...).",
        "table_id": "IDB table id (IDS000 ... IDS902); blank for file-wide rules.",
        "table_name": "IDB table (mart) name the rule checks; blank for file-wide rules.",
        "columns": "Columns the rule reads (v2.1 names; other tables prefixed with their id).",
        "description": "What the rule means, in plain words.",
        "condition_plain": "The failure condition as written in the spec.",
        "v21_applicable": "false for rules on items removed in v2.1.",
        "v21_note": "v2.1 applicability note from the spec (carried forward / renamed / removed / inferred).",
        "check_name": "The project-owned generic check that implements the rule (blank when not applicable).",
        "params": "JSON parameters of the check.",
        "fix_hint": "What a data-quality lead should do when the rule fires.",
        "implemented_by": "Where the rule runs (macro and model, Great Expectations suite, or Python).",
        "status": "implemented, not_checkable_before_upload (a local approximation runs) or not_applicable_v21.",
        "status_reason": "Why a rule is not fully checkable, not applicable, or inferred.",
    }
    scale_docs = {
        "tool_code": "CODED ASSESSMENT TOOL TYPE (SNOMED CT) of the questionnaire.",
        "tool_name": "Questionnaire name.",
        "score_format_regex": "Regular expression a PERSON SCORE must match for this tool (IDS60615/IDS60711).",
        "score_min": "Lowest valid numeric score (blank for Y/N style tools).",
        "score_max": "Highest valid numeric score (blank for Y/N style tools).",
        "allowed_values": "Comma-separated allowed answers for Y/N style tools (blank for numeric tools).",
    }
    lines = [
        "# Generated by `python -m iapt_idb.validation.catalogue`. Do not edit by hand.",
        "version: 2",
        "",
        "seeds:",
    ]
    for name, desc, docs in (
        ("tos_rules", "The TOS rules catalogue: every validation rule of the national platform (382 published "
         "+ 30 inferred UNPUBLISHED(...) v2.1 checks + 6 inferred UNPUBLISHED(...) IDB storage checks) with its "
         "structured implementation.", col_docs),
        ("tos_assessment_scales", "Score format and range per assessment tool, parsed from the national "
         "assessment_tools_snomed code list notes.", scale_docs),
    ):
        lines += [f"  - name: {name}", f'    description: "{desc}"', "    config:", "      column_types:"]
        lines += [f"        {c}: varchar" for c in docs]
        lines += ["    columns:"]
        for c, d in docs.items():
            lines += [f"      - name: {c}", f'        description: "{d}"']
            if c in ("rule_code", "tool_code"):
                lines += ["        data_tests: [not_null, unique]"]
    return "\n".join(lines) + "\n"


def _coverage(rules: tuple[Rule, ...]) -> str:
    counts: dict[str, int] = {}
    for r in rules:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines = [
        "# TOS rules coverage",
        "",
        "Generated by `python -m iapt_idb.validation.catalogue` from `reference/spec/validation_rules*.csv`. "
        "Do not edit by hand.",
        "",
        f"Rules: {len(rules)} ({sum(r.published for r in rules)} published, "
        f"{sum(not r.published for r in rules)} inferred `UNPUBLISHED(...)`).",
        "",
    ]
    for status in ("implemented", NCB, "not_applicable_v21"):
        lines.append(f"- {status}: {counts.get(status, 0)}")
    lines += ["", "| rule | severity | table | check | status | where / why |", "|---|---|---|---|---|---|"]
    for r in rules:
        why = r.implemented_by if r.status == "implemented" else r.status_reason
        if r.status == NCB:
            why = f"{r.status_reason}; runs: {r.implemented_by}"
        elif r.status == "implemented" and r.status_reason:
            why = f"{r.implemented_by} ({r.status_reason})"
        why = why.replace("|", "\\|")
        lines.append(f"| {r.rule_code} | {r.severity} | {r.table_id or '-'} | {r.check or '-'} | {r.status} | {why} |")
    return "\n".join(lines) + "\n"


def _macro(rules: tuple[Rule, ...]) -> str:
    tables = {}
    for m in table_meta():
        tables[m.name] = {
            "table_id": m.table_id,
            "columns": list(m.columns),
            "types": list(m.types),
            "record_key": list(m.record_key),
            "parent_table": m.parent_table or "",
            "parent_key": m.parent_key or "",
        }
    seeds = sorted({(r.params or {}).get("code_list") for r in rules if (r.params or {}).get("code_list")}
                   | {(r.params or {}).get("peq_code_list") for r in rules if (r.params or {}).get("peq_code_list")})
    return (
        "{#- Generated by `python -m iapt_idb.validation.catalogue` from reference/spec. Do not edit by hand. -#}\n"
        "{% macro tos_tables() %}\n"
        "    {#- The 21 IDB tables: columns and spec types in IDB order, record key, parent table and key. -#}\n"
        f"    {{{{ return({json.dumps(tables, sort_keys=True)}) }}}}\n"
        "{% endmacro %}\n\n"
        "{% macro tos_code_list_seeds() %}\n"
        "    {#- National code-list seeds (ref_<stem>) that rules of the catalogue use. -#}\n"
        f"    {{{{ return({json.dumps(['ref_' + s for s in seeds])}) }}}}\n"
        "{% endmacro %}\n"
    )


def _norm_yml() -> str:
    from ..spec import load_tables

    lines = [
        "# Generated by `python -m iapt_idb.validation.catalogue` from reference/spec/idb_schema.csv. Do not edit by hand.",
        "version: 2",
        "",
        "models:",
    ]
    for t in load_tables():
        lines += [
            f"  - name: tos_norm_{t.table_id.lower()}",
            f'    description: "{t.name} ({t.title}) as the validation sees it: every column as text in the data '
            f"set's own format (dates YYYY-MM-DD, times hh:mm:ss, timestamps YYYY-MM-DDThh:mm:ss), so the same "
            f'checks run on typed marts, CSV files and .accdb input."',
            "    columns:",
            "      - name: tos_row_id",
            '        description: "Row id of the source row (DuckDB rowid of the mart / input table); joins failures back to rows."',
            "      - name: tos_record_key",
            f'        description: "Local record key shown to users ({";".join(meta(t.name).record_key) or "HeaderRow=n"}); '
            f'never an NHS number or a birth date."',
        ]
        for c in t.columns:
            item = c.item_name.replace('"', "'")
            lines += [f"      - name: {c.name}", f'        description: "{item} ({c.data_type}, as text)."']
    return "\n".join(lines) + "\n"


def expected_files() -> dict[Path, str]:
    rules = build()
    return {
        RULES_CSV: _csv([r.row() for r in rules], COLUMNS),
        SCALES_CSV: _csv(assessment_scales(), ["tool_code", "tool_name", "score_format_regex", "score_min",
                                               "score_max", "allowed_values"]),
        SEEDS_YML: _yaml(),
        COVERAGE_MD: _coverage(rules),
        GENERATED_MACRO: _macro(rules),
        NORM_YML: _norm_yml(),
    }


def load_rules(path: Path = RULES_CSV) -> list[dict[str, Any]]:
    """The catalogue as written to the seed, params decoded (what the tests and GX use)."""
    out = []
    for r in _read(path):
        d: dict[str, Any] = dict(r)
        d["params"] = json.loads(r["params"]) if r["params"] else {}
        out.append(d)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the generated files are up to date")
    args = ap.parse_args(argv)
    files = expected_files()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)} (run python -m iapt_idb.validation.catalogue)", file=sys.stderr)
        return 1 if stale else 0
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    rules = build()
    n = {s: sum(r.status == s for r in rules) for s in ("implemented", NCB, "not_applicable_v21")}
    print(f"wrote {len(files)} files: {len(rules)} rules, {n}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
