"""Two submission records side by side: rows added, removed and changed per IDB table by record key, rule
failures fixed and newly introduced (rule code, table, record key), and the change in each headline measure.

Rows are compared by their digests (``digests.py``): a key present only in B is added, only in A removed, in
both with other row contents changed. Nothing here reads a patient value; the output names records by
their local key only.
"""

from __future__ import annotations

import csv
from typing import Any

from ..spec import load_tables
from .digests import read_digests
from .store import Record


def _who(r: Record) -> dict[str, Any]:
    summary = r.read_json("validation/summary.json")
    tables = summary.get("tables") or []
    return {
        "label": r.label,
        "period": r.period,
        "kind": r.kind,
        "refresh": r.refresh,
        "idb_sha256": r.meta.get("idb_sha256"),
        "total_rows": r.meta.get("total_rows"),
        "predicted_outcome": summary.get("predicted_outcome"),
        "rows_rejected": sum(int(t.get("rows_record_rejected", 0)) + int(t.get("rows_group_rejected", 0))
                             for t in tables),
        "warnings": int(summary.get("warnings", 0)),
    }


def _rows(a: Record, b: Record) -> list[dict[str, Any]]:
    out = []
    for t in load_tables():
        da = read_digests(a.path / "rows" / f"{t.name}.csv")
        db = read_digests(b.path / "rows" / f"{t.name}.csv")
        out.append({
            "table": t.name,
            "rows_a": sum(len(v) for v in da.values()),
            "rows_b": sum(len(v) for v in db.values()),
            "added": sorted(k for k in db if k not in da),
            "removed": sorted(k for k in da if k not in db),
            "changed": sorted(k for k in da if k in db and da[k] != db[k]),
        })
    return out


def failure_keys(r: Record) -> set[tuple[str, str, str]]:
    """(rule code, table, record key) of every failure in the record's validation report."""
    with (r.path / "validation" / "validation_report.csv").open(newline="", encoding="utf-8") as f:
        return {(row["rule_code"], row["table"], row["record_key"]) for row in csv.DictReader(f)}


def _failures(a: Record, b: Record) -> dict[str, list[dict[str, str]]]:
    fa, fb = failure_keys(a), failure_keys(b)
    order = {t.name: i for i, t in enumerate(load_tables())}

    def listed(keys: set[tuple[str, str, str]]) -> list[dict[str, str]]:
        return [{"rule_code": c, "table": t, "record_key": k}
                for c, t, k in sorted(keys, key=lambda x: (x[0], order.get(x[1], -1), x[2]))]

    return {"fixed": listed(fa - fb), "introduced": listed(fb - fa)}


def _measures(a: Record, b: Record) -> list[dict[str, Any]]:
    ma = {m["measure_id"]: m for m in a.read_json("measures.json")}
    mb = {m["measure_id"]: m for m in b.read_json("measures.json")}
    ids = [m for m in ma] + [m for m in mb if m not in ma]
    out = []
    for mid in ids:
        x, y = ma.get(mid, {}), mb.get(mid, {})
        va, vb = x.get("measure_value"), y.get("measure_value")
        out.append({
            "measure_id": mid,
            "label": y.get("measure_label") or x.get("measure_label") or mid,
            "unit": y.get("unit") or x.get("unit"),
            "value_a": va, "value_b": vb,
            "change": (vb - va) if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None,
            "numerator_a": x.get("numerator"), "numerator_b": y.get("numerator"),
            "denominator_a": x.get("denominator"), "denominator_b": y.get("denominator"),
        })
    return out


def compare(a: Record, b: Record) -> dict[str, Any]:
    """The differences from submission ``a`` to submission ``b`` (plain data, JSON-ready, deterministic)."""
    wa, wb = _who(a), _who(b)
    return {
        "a": wa,
        "b": wb,
        "same_idb": wa["idb_sha256"] == wb["idb_sha256"],
        "tables": _rows(a, b),
        "failures": _failures(a, b),
        "measures": _measures(a, b),
    }


def _num(v: Any, unit: str | None) -> str:
    if v is None:
        return "-"
    if unit == "percent":
        return f"{v:.1f}%"
    if unit == "days":
        return f"{v:.1f} days"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def _change(v: Any, unit: str | None) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    sign = "+" if v > 0 else "-"
    text = _num(abs(v), unit)
    return sign + (text.replace("%", " pts") if unit == "percent" else text)


def _keys(lines: list[str], what: str, keys: list[str], limit: int, indent: str = "    ") -> None:
    if not keys:
        return
    shown = keys if limit <= 0 else keys[:limit]
    for k in shown:
        lines.append(f"{indent}{what} {k}")
    if len(shown) < len(keys):
        lines.append(f"{indent}... and {len(keys) - len(shown)} more {what} (all of them with --limit 0 or --json)")


def format_diff(d: dict[str, Any], limit: int = 20) -> str:
    """The differences as text: records named by their local key only."""
    a, b = d["a"], d["b"]
    lines = [f"Submission {a['label']} ({a['kind']}) -> {b['label']} ({b['kind']})", ""]
    lines.append("IDB: byte-identical" if d["same_idb"] else
                 f"IDB: differs ({a['total_rows']:,} -> {b['total_rows']:,} rows)")
    lines.append(f"predicted outcome: {a['predicted_outcome']} -> {b['predicted_outcome']}; rows rejected "
                 f"{a['rows_rejected']:,} -> {b['rows_rejected']:,}; warnings {a['warnings']:,} -> {b['warnings']:,}")
    lines += ["", "Rows by record key (added / removed / changed)"]
    same = 0
    for t in d["tables"]:
        if not (t["added"] or t["removed"] or t["changed"]):
            same += 1
            continue
        lines.append(f"  {t['table']}: {len(t['added'])} added, {len(t['removed'])} removed, "
                     f"{len(t['changed'])} changed ({t['rows_a']:,} -> {t['rows_b']:,} rows)")
        _keys(lines, "added", t["added"], limit)
        _keys(lines, "removed", t["removed"], limit)
        _keys(lines, "changed", t["changed"], limit)
    lines.append(f"  {same} table(s) with no difference" if same < len(d["tables"]) else "  no difference in any table")
    lines += ["", "Rule failures (rule code, table, record key)"]
    for what in ("fixed", "introduced"):
        items = d["failures"][what]
        by_rule: dict[str, int] = {}
        for f in items:
            by_rule[f["rule_code"]] = by_rule.get(f["rule_code"], 0) + 1
        summary = ", ".join(f"{c} {n}" for c, n in sorted(by_rule.items()))
        lines.append(f"  {what}: {len(items)}" + (f" ({summary})" if summary else ""))
        _keys(lines, what, [f"{f['rule_code']} {f['table']} {f['record_key']}" for f in items], limit)
    lines += ["", "Headline measures"]
    if not d["measures"]:
        lines.append("  none recorded")
    else:
        width = max(len(str(m["label"])) for m in d["measures"])
        lines.append(f"  {'measure':<{width}}  {a['label']:>14}  {b['label']:>14}  change")
        for m in d["measures"]:
            lines.append(f"  {m['label']:<{width}}  {_num(m['value_a'], m['unit']):>14}  "
                         f"{_num(m['value_b'], m['unit']):>14}  {_change(m['change'], m['unit'])}")
    return "\n".join(lines)
