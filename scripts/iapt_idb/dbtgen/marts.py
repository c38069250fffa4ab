"""The 21 IDB marts' YAML (contracts, descriptions, lineage meta in terms of the staging contract)."""

from __future__ import annotations

from ..spec import IdbColumn, IdbTable, load_tables
from .lineage import COLUMN_LINEAGE, MART_INCLUSION

DATA_TYPES = {"string": "varchar", "date": "date", "time": "time", "datetime": "timestamp", "integer": "integer"}
MANDATION = {"M": "Mandatory", "R": "Required", "O": "Optional", "P": "Pilot", "": "Mandation unknown"}


def _column(t: IdbTable, c: IdbColumn) -> dict:
    lin = COLUMN_LINEAGE[f"{t.name}.{c.name}"]
    parts = [f"{c.item_name}.", f"Format: {c.format_notes}." if c.format_notes else ""]
    parts.append(f"{MANDATION[c.mandation]}.")
    if c.code_list:
        parts.append(f"Code list: {c.code_list}.")
    if c.parent_key:
        parts.append(f"Key: {c.parent_key}.")
    sources = ", ".join(f"staging {s}" for s in lin.sources)
    parts.append(f"From {sources}: {lin.how}." if sources else f"Source: {lin.how}.")
    if lin.code_set:
        parts.append(f"Mapping seed map_{lin.code_set}.")
    entry: dict = {
        "name": c.name,
        "description": " ".join(p for p in parts if p),
        "data_type": DATA_TYPES[c.data_type],
    }
    entry["meta"] = {
        # warehouse: fed by staging-contract columns (<entity>.<column>, whichever system delivers them);
        # run_setting: a dbt var of the run (header); not_recorded: nothing local feeds it, submitted empty.
        "source_kind": "warehouse" if lin.sources else ("run_setting" if t.table_id == "IDS000" else "not_recorded"),
        "source_columns": list(lin.sources),
        "mapping_seed": f"map_{lin.code_set}" if lin.code_set else None,
        "transformation": lin.how,
        "data_item_name": c.item_name,
        "mandation": c.mandation or None,
        "max_length": c.max_length,
    }
    return entry


def marts_yaml() -> dict:
    models = []
    for t in load_tables():
        inc = MART_INCLUSION[t.name]
        desc = (
            f"IDB table {t.name} ({t.table_id} {t.title}) for the reporting period var('period'): the columns, "
            "their order and types are exactly those of reference/spec/idb_schema.csv (contract enforced). "
            f"Inclusion rule: {inc.rule} "
            + "Keys, mandatory items, code lists, uniqueness and referential integrity are deliberately NOT "
            "constraints (not even not_null on a key): a defective warehouse row must reach the validation layer, "
            "which reports it with the national platform's rule code and the record's local key, instead of "
            "failing the month's build. Rows are ordered by the table's key so exports are byte-identical."
        )
        models.append(
            {
                "name": t.name,
                "description": desc,
                "config": {
                    "contract": {"enforced": True},
                    "meta": {
                        "idb_table_id": t.table_id,
                        "idb_table_title": t.title,
                        "staging_models": [f"stg_{s}" for s in inc.staging],
                        "staging_filter": inc.staging_filter or None,
                        "inclusion_rule": inc.rule,
                    },
                },
                "columns": [_column(t, c) for c in t.columns],
            }
        )
    return {"version": 2, "models": models}


def code_set_feeds() -> dict[str, list[str]]:
    """Local code set -> the IDB items (Table.Column) it feeds."""
    out: dict[str, list[str]] = {}
    for key, lin in COLUMN_LINEAGE.items():
        if lin.code_set:
            out.setdefault(lin.code_set, []).append(key)
    return out
