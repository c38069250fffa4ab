"""Fix hints and implementation notes of the catalogue's rules, per check kind.

``fix_hint(rule)`` is the advice a data-quality lead sees when a rule fires (``fix_hint`` in
``seeds/tos/tos_rules.csv``, the reports and the docs site). It is written per check kind from the rule's
params; one rule's advice is reworded in ``rules/local_rules.yml`` (``fix_hints:``), which wins over this.
A new check kind needs its hint here (``fix_hint`` raises for a kind it does not know).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..paths import ROOT
from .checks import CASCADE_CHECKS, FILE_CHECKS, GX_CHECKS, ROW_CHECKS
from .tables import HEADER_TABLE, meta

if TYPE_CHECKING:
    from .catalogue import Rule


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
    pass) in macros/tos/tos_parts_<check>.sql, else tos_check_<check> (a query of its own) in
    macros/tos/tos_check_<check>.sql."""
    return f"tos_parts_{check}" if (ROOT / "macros" / "tos" / f"tos_parts_{check}.sql").is_file() else f"tos_check_{check}"


def macro_file(check: str) -> str:
    """The file (relative to the project) that defines a row check's macro."""
    return f"macros/tos/{check_macro(check)}.sql"


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
