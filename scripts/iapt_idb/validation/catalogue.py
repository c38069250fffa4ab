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

``condition_plain`` is parsed mechanically where its shape is regular (``grammar.py`` lists the shapes);
``overrides.OVERRIDES`` holds the irregular rules. A rule that is neither parsed nor overridden stops the
generator with a message naming it (exit 2): no applicable rule is ever left without an implementation.
The local rules and reworded fix hints of ``rules/local_rules.yml`` (``local_rules.py``) are merged in.
The check kinds are listed once in ``checks.py``, the fix hints written in ``hints.py``, the generated files
in ``writers.py``; ``macros/tos/README.md`` walks through adding a rule or a check kind.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..paths import CODELIST_DIR, ROOT, SEEDS_DIR, SPEC_DIR
from . import local_rules
from .checks import ALL_CHECKS, CASCADE_CHECKS, FILE_CHECKS, GX_CHECKS, PYTHON_CHECKS, ROW_CHECKS  # noqa: F401
from .grammar import GrammarError, not_understood, parse_condition  # noqa: F401
from .hints import check_macro, fix_hint, implemented_by  # noqa: F401
from .overrides import NCB, OVERRIDES
from .tables import meta

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
    """Every rule: the spec's (parsed or overridden), then the local rules, fix hints reworded in
    rules/local_rules.yml applied."""
    rules = _national_rules()
    local, hints = local_rules.read()
    national = {r.rule_code for r in rules}
    seen: set[str] = set()
    where = "rules/local_rules.yml"
    for raw in local:
        rules.append(_local_rule(local_rules.validate_rule(raw, national, seen, where)))
    by_code = {r.rule_code: r for r in rules}
    for code, text in hints.items():
        if code not in by_code:
            raise UserError(f"{where}: fix_hints: {code} is not a rule code of the catalogue (see "
                            "seeds/tos/tos_rules.csv, column rule_code)")
        by_code[code].fix_hint = text
    return tuple(rules)


def _national_rules() -> list[Rule]:
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
            parsed = ((over["check"], over["params"]) if over
                      else parse_condition(rule.condition_plain, rule.rule_code, rule.table_name))
            if parsed is None:
                raise not_understood(rule.rule_code, rule.table_name, rule.condition_plain)
            rule.check, rule.params = parsed
            if rule.check == "has_valid_child" and meta(rule.table_name).parent_table == rule.params["child_table"]:
                # "NOT EXISTS valid <parent> with same key" on a child table is the referential-integrity rule
                rule.check = "parent_valid"
                rule.params = {"parent_table": rule.params["child_table"], "key": rule.params["key"]}
            if rule.check not in ALL_CHECKS:
                raise GrammarError(f"{rule.rule_code}: unknown check kind {rule.check!r} (the kinds are listed in "
                                   "scripts/iapt_idb/validation/checks.py)")
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
        raise GrammarError("duplicate rule codes in the spec CSVs")
    return rules


LOCAL_REASON = "local rule (rules/local_rules.yml): reported, never part of the predicted platform verdict"


def _local_rule(d: dict[str, Any]) -> Rule:
    """A local rule's catalogue row: its check kind and params as given, no English to parse."""
    p = d["params"]
    named = [p[k] for k in ("column", "scheme_column", "tool_column") if k in p] + list(p.get("columns", []))
    named += [q["column"] for q in p.get("predicates", [])]
    rule = Rule(
        rule_code=d["code"], published=False, severity=d["severity"], rule_type="local",
        table_id=meta(d["table"]).table_id, table_name=d["table"], columns=",".join(dict.fromkeys(named)),
        description=d["description"], condition_plain="", v21_applicable=True, v21_note="local rule",
        check=d["check"], params=p, status="implemented", status_reason=LOCAL_REASON,
    )
    _check_columns(rule)
    rule.fix_hint = d["fix_hint"] or fix_hint(rule)
    rule.implemented_by = f"macro {check_macro(rule.check)} -> model tos_local_failures"
    return rule


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
            raise GrammarError(f"{rule.rule_code}: column {c} is not in table {rule.table_name}; name a column "
                               "of that table (reference/spec/idb_schema.csv)")
    other = p.get("other") or {}
    if "column" in other:
        otable = other.get("table", rule.table_name)
        if other["column"] not in set(meta(otable).columns):
            raise GrammarError(f"{rule.rule_code}: column {other['column']} is not in table {otable}")


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


def load_rules(path: Path = RULES_CSV) -> list[dict[str, Any]]:
    """The catalogue as written to the seed, params decoded (what the tests and GX use)."""
    out = []
    for r in _read(path):
        d: dict[str, Any] = dict(r)
        d["params"] = json.loads(r["params"]) if r["params"] else {}
        out.append(d)
    return out


def expected_files() -> dict[Path, str]:
    """Every generated file and its text (writers.py)."""
    from .writers import expected_files as files

    return files()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the generated files are up to date")
    args = ap.parse_args(argv)
    try:
        files = expected_files()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
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
    n_local = sum(local_rules.is_local(r.rule_code) for r in rules)
    print(f"wrote {len(files)} files: {len(rules)} rules ({n_local} local), {n}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
