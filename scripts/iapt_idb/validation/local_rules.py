"""Local (house) rules and reworded fix text: ``rules/local_rules.yml``, owned by the project, not the spec.

    local_rules:              # rules of your own, each of an existing check kind (validation/checks.py)
      - code: LOCAL-REF-001   # LOCAL- + letters, digits, '-', '_' or '.'; never a national code
        table: IDS101Referral # IDB table name or id (IDS101)
        check: regex          # a row check kind
        params: {column: ServiceRequestId, pattern: '^SR[0-9]{6}$'}
        severity: warning     # file_reject, group_reject, record_reject or warning
        description: Referral ids follow the trust's SRnnnnnn scheme.
        fix_hint: Re-key the referral in the case-management system.   # optional
    fix_hints:                # any rule's advice, reworded (wins over the generated hint)
      IDS10104: Map the referral source from the referral form's first page.

``python -m iapt_idb.validation.catalogue`` merges both into ``seeds/tos/tos_rules.csv``. A local rule runs in
model ``tos_local_failures`` (never in the cascade or the file verdict): its findings are reported with the
message prefix ``[local]`` and ``"local": true`` in summary.json, and never change the predicted platform
verdict, the rows kept or the IDB. Every problem in the file is a ``UserError`` (exit 2) naming the rule and
what to change.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from ..paths import ROOT, SEEDS_DIR
from .checks import BY_NAME, ROW_CHECKS

LOCAL_RULES_FILE = ROOT / "rules" / "local_rules.yml"
LOCAL_PREFIX = "LOCAL-"
# The marker of a local rule's finding: the start of its message in the reports.
LOCAL_MARK = "[local]"
SEVERITIES = ("file_reject", "group_reject", "record_reject", "warning")
_CODE = re.compile(r"LOCAL-[A-Za-z0-9_.-]+")
_RULE_KEYS = {"code", "table", "check", "params", "severity", "description", "fix_hint"}
_REQUIRED = ("code", "table", "check", "params", "severity", "description")


def is_local(rule_code: str) -> bool:
    return rule_code.startswith(LOCAL_PREFIX)


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def read(path: Path | None = None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The file's local rules (as written) and fix-hint overrides; ([], {}) when the file is absent or empty."""
    path = path or LOCAL_RULES_FILE
    if not path.exists():
        return [], {}
    where = _where(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{where}{line}: not valid YAML; fix the file (see macros/tos/README.md)") from None
    if data is None:
        return [], {}
    if not isinstance(data, dict) or set(data) - {"local_rules", "fix_hints"}:
        raise UserError(f"{where}: the file holds two lists, 'local_rules:' and 'fix_hints:'; found "
                        f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
    rules = data.get("local_rules") or []
    hints = data.get("fix_hints") or {}
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise UserError(f"{where}: 'local_rules:' must be a list of rules (- code: LOCAL-..., table: ..., ...)")
    if not isinstance(hints, dict) or not all(isinstance(v, str) and v.strip() for v in hints.values()):
        raise UserError(f"{where}: 'fix_hints:' must map rule codes to non-empty text (IDS10104: Map ...)")
    return rules, {str(k): v.strip() for k, v in hints.items()}


def validate_rule(raw: dict[str, Any], national: set[str], seen: set[str], where: str) -> dict[str, Any]:
    """One local rule checked (code, kind, severity, table, params) -> its fields, the table as its IDB name."""
    from .tables import meta

    code = str(raw.get("code", "")).strip()
    name = code or "(rule without a code)"
    missing = [k for k in _REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise UserError(f"{where}: local rule {name}: missing {', '.join(missing)}")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise UserError(f"{where}: local rule {name}: unknown key(s) {', '.join(unknown)}; "
                        f"a rule has {', '.join(sorted(_RULE_KEYS))}")
    if code in national:
        raise UserError(f"{where}: local rule {code}: {code} is a national rule code; give the local rule its own "
                        f"code starting {LOCAL_PREFIX} (to reword a national rule's advice use 'fix_hints:')")
    if not _CODE.fullmatch(code):
        raise UserError(f"{where}: local rule {code}: a local rule's code starts {LOCAL_PREFIX} followed by "
                        "letters, digits, '-', '_' or '.' (e.g. LOCAL-REF-001)")
    if code in seen:
        raise UserError(f"{where}: local rule {code}: the code is used twice; give each rule its own code")
    seen.add(code)
    if raw["severity"] not in SEVERITIES:
        raise UserError(f"{where}: local rule {code}: severity {raw['severity']!r} is not one of "
                        f"{', '.join(SEVERITIES)}")
    check = str(raw["check"])
    kind = BY_NAME.get(check)
    if kind is None or check not in ROW_CHECKS:
        why = f"runs in the {kind.stage} stage, which local rules cannot use" if kind else "is not a check kind"
        raise UserError(f"{where}: local rule {code}: check {check!r} {why}; use one of: {', '.join(ROW_CHECKS)}")
    try:
        table = meta(str(raw["table"])).name
    except KeyError:
        raise UserError(f"{where}: local rule {code}: table {raw['table']!r} is not an IDB table; give its name "
                        "(IDS101Referral) or id (IDS101)") from None
    params = raw["params"]
    if not isinstance(params, dict):
        raise UserError(f"{where}: local rule {code}: 'params:' must be a mapping ({{column: ..., ...}})")
    lacking = [k for k in kind.required if k not in params]
    extra = sorted(set(params) - set(kind.required) - set(kind.optional))
    if lacking or extra:
        said = "; ".join(x for x in (f"missing {', '.join(lacking)}" if lacking else "",
                                     f"unknown {', '.join(extra)}" if extra else "") if x)
        raise UserError(f"{where}: local rule {code}: params for check {check}: {said}; it takes "
                        f"{', '.join(kind.required)}" + (f" (and optionally {', '.join(kind.optional)})"
                                                           if kind.optional else ""))
    if "code_list" in params and not (SEEDS_DIR / "reference" / f"ref_{params['code_list']}.csv").is_file():
        raise UserError(f"{where}: local rule {code}: code_list {params['code_list']!r} has no seed "
                        f"seeds/reference/ref_{params['code_list']}.csv")
    if "pattern" in params:
        try:
            re.compile(str(params["pattern"]))
        except re.error as exc:
            raise UserError(f"{where}: local rule {code}: pattern is not a regular expression ({exc})") from None
    return {"code": code, "table": table, "check": check, "params": params, "severity": raw["severity"],
            "description": str(raw["description"]).strip(), "fix_hint": str(raw.get("fix_hint") or "").strip()}


def file_stamp(path: Path | None = None) -> str:
    """What the generated catalogue records of the local rules file: its SHA-256 (or 'absent')."""
    path = path or LOCAL_RULES_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


STAMP_PREFIX = "# Local rules: rules/local_rules.yml sha256 "


def check_current(seeds_yml: Path | None = None, path: Path | None = None) -> None:
    """Refuse (exit 2) when rules/local_rules.yml changed since seeds/tos/tos_rules.csv was generated: the
    validation would otherwise run the old rules without saying so. A problem in the file itself is named."""
    path = path or LOCAL_RULES_FILE
    seeds_yml = seeds_yml or SEEDS_DIR / "tos" / "_tos__seeds.yml"
    try:
        head = seeds_yml.read_text(encoding="utf-8").split("\n", 3)[:3]
    except OSError:
        head = []
    if STAMP_PREFIX + file_stamp(path) not in head:
        from .catalogue import build

        if path == LOCAL_RULES_FILE:
            build()  # raises the UserError that names a local rule's problem, if there is one
        raise UserError(f"{_where(path)} changed since the rules catalogue was generated: run "
                        "'python -m iapt_idb.validation.catalogue' (it checks the file and rewrites "
                        "seeds/tos/tos_rules.csv), then run this again")
