"""The 21 IDB marts' YAML (contracts, descriptions, lineage meta) and the mapping seeds' YAML."""

from __future__ import annotations

from ..spec import IdbColumn, IdbTable, load_tables
from ..warehouse import schema
from .lineage import CODE_SET_REFERENCE, COLUMN_LINEAGE, MART_INCLUSION

DATA_TYPES = {"string": "varchar", "date": "date", "time": "time", "datetime": "timestamp", "integer": "integer"}
MANDATION = {"M": "Mandatory", "R": "Required", "O": "Optional", "P": "Pilot", "": "Mandation unknown"}

SHORT_NOTICE_SEED = "attendance_short_notice_cancellation"


def _column(t: IdbTable, c: IdbColumn) -> dict:
    lin = COLUMN_LINEAGE[f"{t.name}.{c.name}"]
    parts = [f"{c.item_name}.", f"Format: {c.format_notes}." if c.format_notes else ""]
    parts.append(f"{MANDATION[c.mandation]}.")
    if c.code_list:
        parts.append(f"Code list: {c.code_list}.")
    if c.parent_key:
        parts.append(f"Key: {c.parent_key}.")
    sources = ", ".join(f"cms.{s}" for s in lin.sources)
    parts.append(f"From {sources}: {lin.how}." if sources else f"Source: {lin.how}.")
    if lin.code_set:
        parts.append(f"Mapping seed map_{lin.code_set}.")
    entry: dict = {
        "name": c.name,
        "description": " ".join(p for p in parts if p),
        "data_type": DATA_TYPES[c.data_type],
    }
    entry["meta"] = {
        # warehouse: fed by Lumen CMS columns; run_setting: a dbt var of the run (header);
        # not_recorded: nothing local feeds it, submitted empty.
        "source_kind": "warehouse" if lin.sources else ("run_setting" if t.table_id == "IDS000" else "not_recorded"),
        "source_columns": [f"cms.{s}" for s in lin.sources],
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
                        "staging_models": [f"stg_local_cms__{s}" for s in inc.staging],
                        "staging_filter": inc.staging_filter or None,
                        "inclusion_rule": inc.rule,
                    },
                },
                "columns": [_column(t, c) for c in t.columns],
            }
        )
    return {"version": 2, "models": models}


def _feeds() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, lin in COLUMN_LINEAGE.items():
        if lin.code_set:
            out.setdefault(lin.code_set, []).append(key)
    return out


def mappings_yaml() -> dict:
    feeds = _feeds()
    local_columns: dict[str, list[str]] = {}
    for t in schema.TABLES:
        for c in t.columns:
            if c.code_set:
                local_columns.setdefault(c.code_set, []).append(f"cms.{t.name}.{c.name}")
    seeds = []
    for code_set in schema.CODE_SETS:
        ref = CODE_SET_REFERENCE[code_set]
        seeds.append(
            {
                "name": f"map_{code_set}",
                "description": (
                    f"Local Lumen CMS code set `{code_set}` (used by {', '.join(local_columns[code_set])}) mapped to "
                    f"the national code list ref_{ref} (reference/spec/codelists/{ref}.csv). Feeds IDB item(s) "
                    f"{', '.join(feeds.get(code_set, []))}. Many local codes may map to one national code. A local "
                    "code missing here is an unmapped code: staging keeps it visible (is_X_mapped false), the mart "
                    "submits it unchanged and int_unmapped_local_codes lists it."
                ),
                "config": {
                    "column_types": {"local_code": "varchar", "national_code": "varchar", "local_description": "varchar"},
                    "meta": {"reference_seed": f"ref_{ref}", "idb_items": feeds.get(code_set, [])},
                },
                "columns": [
                    {
                        "name": "local_code",
                        "description": "The code as Lumen CMS stores it (exact case and spelling).",
                        "data_tests": ["unique", "not_null"],
                    },
                    {
                        "name": "national_code",
                        "description": f"The national code submitted in the IDB: a current code of ref_{ref}.",
                        "data_tests": [
                            "not_null",
                            {"values_in_reference": {"arguments": {"reference": f"ref_{ref}"}}},
                        ],
                    },
                    {"name": "local_description", "description": "What the local code means in Lumen CMS."},
                ],
            }
        )
    seeds.append(
        {
            "name": SHORT_NOTICE_SEED,
            "description": (
                "Which local attendance outcomes that map to AttendOrDNACode 2 (cancelled by the patient) were "
                "short-notice cancellations: feeds IDS201CareContact.Cancellation (Y/N, only for code 2)."
            ),
            "config": {
                "column_types": {"local_code": "varchar", "short_notice_indicator": "varchar", "local_description": "varchar"},
                "meta": {"reference_seed": "ref_yes_no_indicator", "idb_items": ["IDS201CareContact.Cancellation"]},
            },
            "columns": [
                {
                    "name": "local_code",
                    "description": "A local attendance outcome code (seed map_attendance) meaning a patient cancellation.",
                    "data_tests": ["unique", "not_null", {"relationships": {"arguments": {"to": "ref('map_attendance')", "field": "local_code"}}}],
                },
                {
                    "name": "short_notice_indicator",
                    "description": "Y for a short-notice cancellation, N otherwise.",
                    "data_tests": ["not_null", {"values_in_reference": {"arguments": {"reference": "ref_yes_no_indicator"}}}],
                },
                {"name": "local_description", "description": "What the local code means in Lumen CMS."},
            ],
        }
    )
    return {"version": 2, "seeds": seeds}
