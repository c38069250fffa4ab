"""The one definition of the validation report's files: ``summary.json`` and the failure rows of
``validation_report.json`` / ``.csv``.

``iapt-idb validate`` writes them from these classes (``validation.report``) and the docs site reads them
back through them (``docs_site.inputs``). Reading is strict: a missing key, an unknown key or a value of
the wrong type is a ``SummaryError`` (exit 2) naming the file and the key, never a silent default.

summary.json, key by key (written with ``json.dumps(..., indent=2, sort_keys=True)``):

- ``period`` YYYY-MM; ``source`` what was checked ("marts", or the file or folder validated)
- ``predicted_outcome`` "accepted" or "file_rejected"
- ``file_reasons`` the file-level rules that failed (rule code order)
- ``failures_by_severity`` failures per severity; ``warnings`` the warning failures
- ``rules`` every rule that failed, most failures first
- ``tables`` rows submitted / kept / rejected per IDB table, IDB order
- ``catalogue`` how many rules the catalogue has, published or not, by status
- ``not_checked`` (only when some rule could not run) the rule and why
- ``local`` (only when the project has local rules) how many, and their failures per severity; those rules
  are also marked ``"local": true`` in ``rules`` and never counted in ``failures_by_severity`` or the outcome
- ``great_expectations`` (only when GX ran) its suites, expectations and failures per rule

To add a key: add a field to its class here (an optional one with a default and ``metadata=_OMIT_DEFAULT``,
so files without it keep their bytes), set it in the writer; every reader then gets it, and a file that
has a key no field names is refused.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import types
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from ..errors import UserError

OUTCOMES = ("accepted", "file_rejected")
SEVERITIES = ("file_reject", "group_reject", "record_reject", "warning")
# A field marked so is left out of the file while it holds its default (False, None): files written
# before the field existed stay byte-identical.
_OMIT_DEFAULT = {"omit_default": True}


class SummaryError(UserError):
    """A report file that is not in the shape this version writes (exit 2)."""


@dataclass(frozen=True)
class FailureRow:
    """One failure: a row of validation_report.csv / .json. Records are named by their local key only."""

    rule_code: str
    severity: str
    table: str
    record_key: str
    columns: str
    message: str


FAILURE_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(FailureRow))


@dataclass(frozen=True)
class FileReason:
    rule_code: str
    description: str
    failures: int
    published: bool
    inferred: bool = field(default=False, metadata=_OMIT_DEFAULT)  # the finding rests on our reading of a rule


@dataclass(frozen=True)
class RuleSummary:
    rule_code: str
    published: bool
    severity: str
    table: str
    description: str
    fix_hint: str
    status: str
    failures: int  # failures reported
    records: int  # distinct records (table and key) failing
    inferred: bool = field(default=False, metadata=_OMIT_DEFAULT)  # the finding rests on our reading of a rule
    # a local rule (rules/local_rules.yml): reported, never part of the platform's verdict
    local: bool = field(default=False, metadata=_OMIT_DEFAULT)


@dataclass(frozen=True)
class TableSummary:
    table: str
    rows_submitted: int
    rows_kept: int
    rows_record_rejected: int
    rows_group_rejected: int
    rows_with_warnings: int


@dataclass(frozen=True)
class CatalogueSummary:
    rules: int
    published: int
    unpublished_inferred: int
    by_status: dict[str, int]


@dataclass(frozen=True)
class LocalSummary:
    """The project's local rules (rules/local_rules.yml): how many, and their failures per severity."""

    rules: int
    failures_by_severity: dict[str, int]


@dataclass(frozen=True)
class NotChecked:
    rule_code: str
    reason: str


@dataclass(frozen=True)
class GxSummary:
    suites: int
    expectations: int
    success: bool
    data_docs: str
    failures_by_rule: dict[str, int]


@dataclass(frozen=True)
class Summary:
    period: str
    source: str
    predicted_outcome: str
    file_reasons: list[FileReason]
    failures_by_severity: dict[str, int]
    warnings: int
    rules: list[RuleSummary]
    tables: list[TableSummary]
    catalogue: CatalogueSummary
    not_checked: list[NotChecked] | None = field(default=None, metadata=_OMIT_DEFAULT)
    local: LocalSummary | None = field(default=None, metadata=_OMIT_DEFAULT)
    great_expectations: GxSummary | None = field(default=None, metadata=_OMIT_DEFAULT)

    @property
    def file_rejected(self) -> bool:
        return self.predicted_outcome == "file_rejected"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object summary.json holds."""
        return _to_json(self)

    def dumps(self) -> str:
        """summary.json's text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _to_json(getattr(value, f.name))
            for f in fields(value)
            if not (f.metadata.get("omit_default") and getattr(value, f.name) == f.default)
        }
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _kind(expected: Any) -> str:
    names = {str: "text", int: "a whole number", bool: "true or false"}
    if get_origin(expected) is list:
        return "a list"
    if get_origin(expected) is dict or dataclasses.is_dataclass(expected):
        return "an object"
    return names.get(expected, str(expected))


def _parse(expected: Any, value: Any, where: str) -> Any:
    """value (from JSON) as the type expected, or SummaryError naming where (e.g. rules[3].records)."""
    origin = get_origin(expected)
    if origin in (Union, types.UnionType):  # X | None
        if value is None:
            return None
        (inner,) = [a for a in get_args(expected) if a is not type(None)]
        return _parse(inner, value, where)
    if dataclasses.is_dataclass(expected):
        return _parse_object(expected, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise _WrongValue(where, f"should be {_kind(expected)}")
        (item,) = get_args(expected)
        return [_parse(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _WrongValue(where, f"should be {_kind(expected)}")
        _, item = get_args(expected)
        return {str(k): _parse(item, v, f"{where}.{k}") for k, v in value.items()}
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        raise _WrongValue(where, f"should be {_kind(expected)}")
    return value


def _parse_object(cls: Any, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise _WrongValue(where or "the file", "should be an object")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    prefix = f"{where}." if where else ""
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise _WrongValue(prefix + unknown[0], "is not a key this version knows")
    args = {}
    for name, f in known.items():
        if name not in value:
            if f.default is dataclasses.MISSING:
                raise _WrongValue(prefix + name, "is missing")
            continue
        args[name] = _parse(hints[name], value[name], prefix + name)
    return cls(**args)


class _WrongValue(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"key '{key}' {problem}")


def _fix(path: Path) -> str:
    return (f"{path} is not a validation report this version of iapt-idb wrote: run 'iapt-idb validate "
            f"--report {path.parent}' again")


def parse_summary(data: Any, path: Path) -> Summary:
    """A summary.json's parsed JSON as a Summary; path is only named in the error."""
    try:
        summary = _parse_object(Summary, data, "")
    except _WrongValue as exc:
        raise SummaryError(f"{_fix(path)} ({exc})") from None
    if summary.predicted_outcome not in OUTCOMES:
        raise SummaryError(f"{_fix(path)} (key 'predicted_outcome' should be one of {', '.join(OUTCOMES)})")
    return summary


def load_summary(path: Path) -> Summary:
    """Read summary.json at path. FileNotFoundError when it is not there; SummaryError when it is not one
    this version writes (not JSON, a missing or unknown key, a value of the wrong type)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise SummaryError(f"{_fix(path)} (it is not JSON)") from None
    return parse_summary(data, path)


def write_summary(path: Path, summary: Summary) -> None:
    Path(path).write_text(summary.dumps(), encoding="utf-8")


def load_failure_rows(report_dir: Path) -> list[FailureRow]:
    """The failures of a report folder: validation_report.json, else validation_report.csv, else none.
    SummaryError when a row's keys are not FAILURE_COLUMNS."""
    js, cs = report_dir / "validation_report.json", report_dir / "validation_report.csv"
    if js.exists():
        try:
            rows = json.loads(js.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise SummaryError(f"{_fix(js)} (it is not JSON)") from None
        if not isinstance(rows, list):
            raise SummaryError(f"{_fix(js)} (it should be a list of failures)")
        path = js
    elif cs.exists():
        with cs.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            if tuple(header) != FAILURE_COLUMNS:
                raise SummaryError(f"{_fix(cs)} (its header should be {','.join(FAILURE_COLUMNS)})")
            out = []
            for line, r in enumerate(reader, 2):
                if len(r) != len(FAILURE_COLUMNS):
                    raise SummaryError(f"{_fix(cs)} (line {line} has {len(r)} fields, not {len(FAILURE_COLUMNS)})")
                out.append(FailureRow(*r))
            return out
    else:
        return []
    out = []
    for i, row in enumerate(rows):
        try:
            out.append(_parse_object(FailureRow, row, f"[{i}]"))
        except _WrongValue as exc:
            raise SummaryError(f"{_fix(path)} ({exc})") from None
    return out
