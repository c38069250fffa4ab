"""Small, hand-made inputs for the docs-site tests: marts, a validation report, history, a manifest.

They follow the formats the other commands write (marts named as the IDB tables in schema main;
``summary.json``, ``validation_report.json/.csv`` and ``gx_data_docs/`` in the report folder;
dbt's ``manifest.json`` with ``meta.source_columns`` on mart columns) and hold deliberate defects:
codes outside the national lists, default codes, blanks, an NHS Number inside a failure message
and a birth date inside the Great Expectations pages (which the site must scrub).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from iapt_idb.spec import load_tables

PERIOD = "2026-10"
SQL_TYPES = {"string": "VARCHAR", "date": "DATE", "time": "TIME", "datetime": "TIMESTAMP", "integer": "INTEGER"}
PATIENTS = 12
CONTACTS = 620  # more than one page of records for rule IDS20169 (500 per page)


@dataclass(frozen=True)
class Fixture:
    period: str
    target_db: Path
    report_dir: Path
    history_dir: Path
    manifest: Path
    static_index: Path
    nhs_numbers: tuple[str, ...]
    birth_dates: tuple[dt.date, ...]


def nhs_number(seed: int) -> str:
    """A synthetic NHS Number (999 range) with a correct modulus-11 check digit."""
    n = 0
    while True:
        body = f"999{(seed * 7919 + n) % 10**6:06d}"
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1)))
        check = 11 - total % 11
        check = 0 if check == 11 else check
        if check != 10:
            return body + str(check)
        n += 1


# Patient -> postcode (the others: LS1 4AP): a pseudo-postcode (no fixed abode), one held without its space.
POSTCODES = {1: "LS28 9NX", 2: "BD11NG", 3: "ZZ99 3WZ"}


def _rows() -> dict[str, list[dict[str, object]]]:
    start, end = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    ethnic = ["A", "B", "99", "Z", "Q9", None, "C", "H", "A", "N", "S", "A"]
    rows: dict[str, list[dict[str, object]]] = {
        "IDS000Header": [
            dict(DatSetVer="2.1", OrgIDProv="RZZ", OrgIDSubmit="RZZ", PrimSystemInUse="Lumen CMS",
                 ReportingPeriodStartDate=start, ReportingPeriodEndDate=end,
                 DateTimeDatSetCreate=dt.datetime(2026, 11, 5, 9, 0, 0))
        ],
        "IDS001MPI": [],
        "IDS002GP": [],
        "IDS101Referral": [],
        "IDS201CareContact": [],
        "IDS007DisabilityType": [dict(LocalPatientId="LP00001", DisabCode="XX"), dict(LocalPatientId="LP00002", DisabCode="NN")],
    }
    for i in range(PATIENTS):
        lp = f"LP{i + 1:05d}"
        rows["IDS001MPI"].append(
            dict(LocalPatientId=lp, OrgIDLocalPatientId="RZZ", NHSNumber=nhs_number(i + 1), NHSNumberStatus="01",
                 PersonBirthDate=dt.date(1950 + 3 * i, 1 + i % 12, 1 + (5 * i) % 28),
                 Postcode=POSTCODES.get(i, "LS1 4AP"), Gender=["1", "2", "X", "1"][i % 4],
                 GenderIdentity=["1", "2", "4", "Z"][i % 4], GenderIdentitySameAtBirth="Y",
                 EthnicCategory=ethnic[i], EthnicCategory2021=None, ExBAFIndicator="UU" if i % 5 == 0 else "05",
                 LanguageCodePreferred="en", EduEstabTypeIAPT="8")
        )
        rows["IDS002GP"].append(dict(LocalPatientId=lp, GMPCodeReg="B86001", StartDateGMPRegistration=dt.date(2010, 1, 1)))
        rows["IDS101Referral"].append(
            dict(ServiceRequestId=f"RF{i + 1:010d}", LocalPatientId=lp, OrgIDComm="15F",
                 ReferralRequestReceivedDate=dt.date(2026, 9, 1 + i), SourceOfReferralIAPT=["B1", "A1", "Q1"][i % 3],
                 OnsetDate="2026-0" if i == 2 else "2026-08", PrevDiagCondInd="N", EndCode="46" if i % 2 else None)
        )
    for j in range(CONTACTS):
        rows["IDS201CareContact"].append(
            dict(CareContactId=f"CC{j + 1:08d}", ServiceRequestId=f"RF{j % PATIENTS + 1:010d}",
                 CareContDate=dt.date(2026, 10, 1 + j % 31), CareContTime=dt.time(9 + j % 8, 0, 0), OrgIDComm="15F",
                 AttendOrDNACode="5" if j % 9 else "0", IAPTLTCServiceInd="N", AppType="02", ConsMechanism="11",
                 ClinContDurOfCareCont=60)
        )
    return rows


def _write_marts(path: Path) -> tuple[tuple[str, ...], tuple[dt.date, ...]]:
    rows = _rows()
    with duckdb.connect(str(path)) as con:
        for t in load_tables():
            cols = ", ".join(f'"{c.name}" {SQL_TYPES[c.data_type]}' for c in t.columns)
            con.execute(f'create table main."{t.name}" ({cols})')
            table_rows = rows.get(t.name, [])
            if table_rows:
                names = list(table_rows[0])
                con.executemany(
                    f'insert into main."{t.name}" ({", ".join(chr(34) + n + chr(34) for n in names)}) '
                    f'values ({", ".join("?" for _ in names)})',
                    [[r[n] for n in names] for r in table_rows],
                )
        con.execute(
            "create table main.measures_headline as select * from (values "
            "('referrals_received', 10, 'Referrals received', 'count', 12, null, 12.0, 'Referrals received in the period', null), "
            "('recovery_rate', 100, 'Recovery rate', 'percent', 5, 9, 55.5556, 'Recovered', 'Finished at caseness')) "
            "as t(measure_id, sort_order, measure_label, unit, numerator, denominator, measure_value, numerator_definition, "
            "denominator_definition)"
        )
        con.execute(
            "create table main.int_unmapped_local_codes as select * from (values "
            "('ethnicity', 'Q9', 'patient', 'ethnicity', 1)) as t(code_set, local_code, table_name, column_name, row_count)"
        )
    mpi = rows["IDS001MPI"]
    return tuple(str(r["NHSNumber"]) for r in mpi), tuple(r["PersonBirthDate"] for r in mpi)  # type: ignore[misc]


def failures() -> list[dict[str, str]]:
    out = []
    for i in range(PATIENTS):
        if i == 4:
            out.append(dict(rule_code="IDS00133", severity="warning", table="IDS001MPI", record_key=f"LocalPatientId=LP{i + 1:05d}",
                            columns="EthnicCategory", message="EthnicCategory 'Q9' is not a national code"))
        if i % 3 == 2:
            out.append(dict(rule_code="IDS10118", severity="warning", table="IDS101Referral",
                            record_key=f"ServiceRequestId=RF{i + 1:010d}", columns="SourceOfReferralIAPT",
                            message="SourceOfReferralIAPT 'Q1' is not a national code"))
    out.append(dict(rule_code="IDS10113", severity="record_reject", table="IDS101Referral", record_key="ServiceRequestId=RF0000000003",
                    columns="OnsetDate", message="OnsetDate is not YYYY-MM"))
    out.append(dict(rule_code="IDSREJ006", severity="file_reject", table="IDS001MPI", record_key="LocalPatientId=LP00002",
                    columns="NHSNumber", message=f"NHS Number {nhs_number(2)} failed the check (test: must be scrubbed)"))
    for j in range(CONTACTS):
        if j % 9 == 0:
            out.append(dict(rule_code="IDS20128", severity="record_reject", table="IDS201CareContact",
                            record_key=f"CareContactId=CC{j + 1:08d}", columns="AttendOrDNACode", message="AttendOrDNACode '0' is not permitted"))
        else:
            out.append(dict(rule_code="IDS20169", severity="warning", table="IDS201CareContact",
                            record_key=f"CareContactId=CC{j + 1:08d}", columns="", message="attended contact with no care activity"))
    out.append(dict(rule_code="IDSREJ012", severity="file_reject", table="", record_key="File", columns="",
                    message="file-level failure with no table"))
    out.append(dict(rule_code="UNPUBLISHED(IDS001-GI-3)", severity="warning", table="IDS001MPI",
                    record_key="LocalPatientId=LP00004", columns="GenderIdentity", message="inferred v2.1 check"))
    return out


def summary(fails: list[dict[str, str]], period: str) -> dict[str, object]:
    """summary.json in the shape `iapt-idb validate` writes (iapt_idb.validation.report)."""
    counts: Counter = Counter(f["rule_code"] for f in fails)
    records: dict[str, set[str]] = {}
    for f in fails:
        records.setdefault(f["rule_code"], set()).add(f["table"] + "|" + f["record_key"])
    severity = {f["rule_code"]: f["severity"] for f in fails}
    table_of = {f["rule_code"]: f["table"] for f in fails}
    rules = [
        dict(rule_code=code, published=not code.startswith("UNPUBLISHED"), severity=severity[code], table=table_of[code],
             description=f"Rule {code} description", fix_hint=f"Fix for {code}", status="implemented",
             failures=counts[code], records=len(records[code]))
        for code in sorted(counts, key=lambda c: (-counts[c], c))
    ]
    by_severity = {s: sum(1 for f in fails if f["severity"] == s) for s in ("file_reject", "group_reject", "record_reject", "warning")}
    file_reasons = [dict(rule_code=r["rule_code"], description=f"File-level reason {r['rule_code']}",
                         failures=r["failures"], published=True) for r in rules if r["severity"] == "file_reject"]
    tables = []
    for name, n in (("IDS001MPI", PATIENTS), ("IDS101Referral", PATIENTS), ("IDS201CareContact", CONTACTS)):
        rec = len({f["record_key"] for f in fails if f["table"] == name and f["severity"] == "record_reject"})
        warn = len({f["record_key"] for f in fails if f["table"] == name and f["severity"] == "warning"})
        tables.append(dict(table=name, rows_submitted=n, rows_kept=n - rec, rows_record_rejected=rec,
                           rows_group_rejected=0, rows_with_warnings=warn))
    return dict(
        period=period, source="marts", predicted_outcome="file_rejected" if file_reasons else "accepted",
        file_reasons=file_reasons, failures_by_severity=by_severity, warnings=by_severity["warning"], rules=rules,
        tables=tables, catalogue=dict(rules=411, published=382, unpublished_inferred=29,
                       by_status=dict(implemented=388, not_applicable_v21=9, not_checkable_before_upload=14)),
    )


def _write_report(folder: Path, period: str, fails: list[dict[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "validation_report.json").write_text(json.dumps(fails, indent=1), encoding="utf-8")
    with (folder / "validation_report.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["rule_code", "severity", "table", "record_key", "columns", "message"])
        w.writeheader()
        w.writerows(fails)
    (folder / "summary.json").write_text(json.dumps(summary(fails, period), indent=1), encoding="utf-8")


def _write_gx(folder: Path, birth_date: dt.date) -> None:
    (folder / "validations").mkdir(parents=True)
    head = (
        '<head><link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css">'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head>'
    )
    (folder / "index.html").write_text(
        f"<html>{head}<body><h1>Data Docs</h1><script>$(function(){{}});</script>"
        '<a href="validations/tos_IDS001MPI.html">tos_IDS001MPI</a></body></html>', encoding="utf-8")
    (folder / "validations" / "tos_IDS001MPI.html").write_text(
        f"<html>{head}<body><img src=\"https://example.org/logo.png\"><h1>tos_IDS001MPI</h1><p>unexpected values: {birth_date.isoformat()}, ls28  9nx, BD1 1NG, ZZ99 3WZ</p>"
        '<a href="../index.html">home</a></body></html>', encoding="utf-8")


def _write_manifest(path: Path) -> None:
    nodes: dict[str, object] = {
        "model.iapt_idb.stg_local_cms__patient": {
            "name": "stg_local_cms__patient", "resource_type": "model",
            "depends_on": {"nodes": ["source.iapt_idb.local_cms.patient", "seed.iapt_idb.map_ethnicity"]}, "columns": {}},
        "seed.iapt_idb.map_ethnicity": {"name": "map_ethnicity", "resource_type": "seed", "depends_on": {"nodes": []}},
    }
    for t in load_tables():
        cols = {}
        for c in t.columns:
            meta: dict[str, object] = {"source_columns": [], "mapping_seed": None, "transformation": "copied"}
            if t.name == "IDS001MPI" and c.name != "EthnicCategory2021":
                meta["source_columns"] = [f"cms.patient.{c.name.lower()}"]
            if c.name == "EthnicCategory":
                meta.update(source_columns=["cms.patient.ethnicity"], mapping_seed="map_ethnicity",
                            transformation="local code mapped to the national code")
            if c.name == "EthnicCategory2021":
                meta["transformation"] = "not recorded by Lumen CMS (pilot item): submitted empty"
            if t.name == "IDS000Header":
                meta["transformation"] = "dbt var provider_ods_code"
            if t.name == "IDS201CareContact":
                meta["source_columns"] = [f"cms.appointment.{c.name.lower()}"]
            cols[c.name] = {"name": c.name, "meta": meta}
        deps = ["model.iapt_idb.stg_local_cms__patient"] if t.name == "IDS001MPI" else []
        nodes[f"model.iapt_idb.{t.name}"] = {"name": t.name, "resource_type": "model", "columns": cols, "depends_on": {"nodes": deps}}
    manifest = {
        "metadata": {"generated_at": "2026-11-05T09:00:00Z"},
        "nodes": nodes,
        "sources": {"source.iapt_idb.local_cms.patient": {"name": "patient", "resource_type": "source", "schema": "cms", "identifier": "patient"}},
    }
    path.write_text(json.dumps(manifest), encoding="utf-8")


def make_fixture(root: Path) -> Fixture:
    """Write every input under root (a fresh folder) and return where each is."""
    root.mkdir(parents=True, exist_ok=True)
    target_db = root / "iapt.duckdb"
    nhs, dobs = _write_marts(target_db)
    fails = failures()
    report_dir = root / "output" / PERIOD / "validation"
    _write_report(report_dir, PERIOD, fails)
    _write_gx(report_dir / "gx_data_docs", dobs[0])
    history = root / "output"
    for month, keep in (("2026-08", 400), ("2026-09", 200)):
        earlier = [f for f in fails if f["severity"] != "file_reject"][:keep]
        _write_report(history / month / "validation", month, earlier)
    manifest = root / "target" / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    _write_manifest(manifest)
    static_index = root / "target" / "static_index.html"
    static_index.write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>dbt Docs</title></head><body><h1>dbt docs</h1>'
        '<script>var manifest = {"metadata": {"generated_at": "2026-11-05T10:11:12Z", "invocation_id": "abc-123"}};</script>'
        "</body></html>", encoding="utf-8")
    return Fixture(PERIOD, target_db, report_dir, history, manifest, static_index, nhs, dobs)
