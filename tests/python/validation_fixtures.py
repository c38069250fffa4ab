"""A minimal valid IDB (all 21 tables) and per-check "make it fail" mutations, driven by the catalogue.

Synthetic data only: NHS numbers from the 999 test range (valid modulus 11).

- ``Idb``: table name -> list of row dicts (IDB column names, text values, None = empty).
- ``family(i)``: one patient with a GP registration, a referral and one row in every other table, all valid,
  with keys distinct per ``i``.
- ``mutate(idb, rule, fam)``: change ``fam``'s rows so that ``rule`` must fire; returns the record keys on
  which the rule code must then be reported.
- ``write_csv_dir``: the CSV-directory form read by ``iapt-idb validate``.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

from iapt_idb.validation.checks import CASCADE_CHECKS, ROW_CHECKS
from iapt_idb.validation.tables import CODE_LISTS, RECORD_KEYS, table_meta
from iapt_idb.nhs_number import check_digit

PERIOD = "2026-10"
RP_START, RP_END = "2026-10-01", "2026-10-31"
PROVIDER = "RZZ"
SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "reference"

Idb = dict[str, list[dict[str, str | None]]]

_D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
      [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
      [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]


def verhoeff_ok(s: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(s)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def nhs_number(i: int) -> str:
    """The i-th valid NHS number of the 999 test range."""
    n = 0
    base = 999_000_000
    while True:
        nine = str(base + n)
        cd = check_digit(nine)
        if cd is not None and nine[:5] != (nine + str(cd))[5:][::-1]:
            if i == 0:
                return nine + str(cd)
            i -= 1
        n += 1


def header() -> dict[str, str | None]:
    return {
        "DatSetVer": "2.1", "OrgIDProv": PROVIDER, "OrgIDSubmit": PROVIDER, "PrimSystemInUse": "Lumen CMS",
        "ReportingPeriodStartDate": RP_START, "ReportingPeriodEndDate": RP_END,
        "DateTimeDatSetCreate": "2026-11-02T09:00:00",
    }


_NHS_OFFSET = {"B": 0, "G": 100, "X": 200, "Y": 300, "M": 1000}  # distinct NHS numbers per family


def family(i: int, tag: str = "B") -> Idb:
    """One valid patient and one valid row in each table below it; keys carry ``tag`` and ``i``."""
    s = f"{tag}{i:04d}"
    lp, sr, cc, ca, cp = f"LP{s}", f"SR{s}", f"CC{s}", f"CA{s}", f"CP{s}"
    return {
        "IDS001MPI": [{
            "LocalPatientId": lp, "OrgIDLocalPatientId": PROVIDER, "NHSNumber": nhs_number(i + _NHS_OFFSET[tag]),
            "NHSNumberStatus": "01", "PersonBirthDate": "1980-05-17", "Postcode": "LS1 4AP", "Gender": "1",
            "GenderIdentity": "1", "GenderIdentitySameAtBirth": "Y", "EthnicCategory": "A", "EthnicCategory2021": None,
            "ExBAFIndicator": "03", "LanguageCodePreferred": "en", "EduEstabTypeIAPT": "8",
        }],
        "IDS002GP": [{"LocalPatientId": lp, "GMPCodeReg": "B86001", "StartDateGMPRegistration": "2015-01-01",
                      "EndDateGMPRegistration": None}],
        "IDS003AccommStatus": [{"LocalPatientId": lp, "AccommodationType": "01", "SettledAccommodationInd": "Y",
                                "AccommodationTypeDate": "2026-10-05", "AccommodationTypeStartDate": "2020-01-01",
                                "AccommodationTypeEndDate": None}],
        "IDS004EmpStatus": [{
            "LocalPatientId": lp, "EmployStatus": "01", "EmployStatusRecDate": "2026-10-05", "WeekHoursWorked": "01",
            "SelfEmployInd": "N", "SickAbsenceInd": "N", "SSPInd": "N", "BenefitRecInd": "N", "ESAInd": "N",
            "UCInd": "N", "PIPInd": "N", "EmpSupportInd": "N", "EmpSupportReferral": None,
            "EmpSupportDischargeDate": None,
        }],
        "IDS007DisabilityType": [{"LocalPatientId": lp, "DisabCode": "NN"}],
        "IDS011SocPerCircumstances": [{"LocalPatientId": lp, "SocPerCircumstance": "160539008",
                                       "SocPerCircumstanceRecDate": "2026-10-05"}],
        "IDS012OverseasVisitorChargCat": [{"LocalPatientId": lp, "OvsVisChCat": "A", "OvsVisChCatAppDate": "2026-10-05"}],
        "IDS101Referral": [{
            "ServiceRequestId": sr, "LocalPatientId": lp, "OrgIDComm": "15F", "ReferralRequestReceivedDate": "2026-09-20",
            "SourceOfReferralIAPT": "B1", "OnsetDate": "2026-06", "PrevDiagCondInd": "N", "EndCode": None,
            "ServDischDate": None,
        }],
        "IDS105OnwardReferral": [{"ServiceRequestId": sr, "OnwardReferDate": "2026-10-20", "OnwardReferTime": "10:00:00",
                                  "OnwardReferReason": "01", "OrgIDReceiving": "RXX"}],
        "IDS108WaitingTimePauses": [{"PauseID": "P1", "ServiceRequestId": sr, "PauseStartDate": "2026-10-10",
                                     "PauseEndDate": "2026-10-12", "PauseReason": "01"}],
        "IDS201CareContact": [{
            "CareContactId": cc, "ServiceRequestId": sr, "CareContDate": "2026-10-07", "CareContTime": "09:30:00",
            "OrgIDComm": "15F", "PlannedCareContIndicator": "Y", "AttendOrDNACode": "5", "Cancellation": None,
            "ClinContDurOfCareCont": "60", "IAPTLTCServiceInd": "N", "AppType": "02", "ConsMechanism": "01",
            "IntEnabledTherProg": None, "CareContPatientTherMode": "1", "NumGroupTherParticipants": None,
            "NumGroupTherFacilitators": None, "PsychMed": "02", "ActLocTypeCode": "A01", "SiteIDOfTreat": "RZZ01",
            "LanguageCodeTreat": "en", "InterpreterPresentInd": "X",
        }],
        "IDS202CareActivity": [{
            "CareActId": ca, "CareContactId": cc, "CarePersLocalId": cp, "ClinContactDurOfCareAct": "60",
            "CodeProcAndProcStatus": "228557008", "FindSchemeInUse": "01", "CodeFind": "F321", "CodeObs": None,
            "ObsValue": None, "UnitMeasure": None,
        }],
        "IDS205InternetTherLog": [{
            "ServiceRequestId": sr, "StartDateIntEnabledTherLog": "2026-10-01", "EndDateIntEnabledTherLog": "2026-10-31",
            "IntEnabledTherProg": "SilverCloud", "DurationIntEnabledTher": "30", "CarePersLocalId": cp,
            "IntegratedSoftwareInd": "N",
        }],
        "IDS601MedHistPrevDiag": [{"LocalPatientId": lp, "DiagSchemeInUse": "02", "PrevDiag": "F329",
                                   "DiagDate": "2020-03-01"}],
        "IDS602LongTermCondition": [{"ServiceRequestId": sr, "FindSchemeInUse": "04", "LongTermCondition": "44054006"}],
        "IDS603PresentingComplaints": [{"ServiceRequestId": sr, "FindSchemeInUse": "01", "PresComp": "F410",
                                        "PresCompCodSig": "1", "PresCompDate": "2026-10-07"}],
        "IDS606CodedScoreAssessmentRefer": [{"ServiceRequestId": sr, "CodedAssToolType": "720433000", "PersScore": "15",
                                             "AssToolCompDate": "2026-10-07", "AssToolCompTime": "09:45:00"}],
        "IDS607CodedScoreAssessmentAct": [{"CareActId": ca, "CodedAssToolType": "445455005", "PersScore": "12"}],
        "IDS803CareCluster": [{"LocalPatientId": lp, "AMHCareClustCodeFin": "01", "StartDateCareClust": "2026-10-01",
                               "StartTimeCareClust": "09:00:00", "EndDateCareClust": None, "EndTimeCareClust": None}],
        "IDS902CarePersQual": [{"CarePersLocalId": cp, "QualAttainLevelIAPT": "10", "QualAwardedDate": "2015-06-01",
                                "QualPlannedCompletionDate": None}],
    }


def empty_warehouse(folder: Path) -> Path:
    """``folder/empty_warehouse.duckdb``: a warehouse with no tables. Validation never reads the warehouse, but
    dbt's profile attaches one."""
    import duckdb

    path = folder / "empty_warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists cms")
    finally:
        con.close()
    return path


def validate_csv(work: Path, idb: Idb, name: str) -> tuple[Any, Path]:
    """Write ``idb`` as a CSV folder under ``work`` and run `iapt-idb validate` on it (no GX), with the scratch DB
    kept in ``work/scratch``; assert it gave a verdict (exit 0 or 1). -> (the process, its report folder)."""
    from conftest import isolated_env, run_cli

    src = write_csv_dir(idb, work / f"{name}_csv")
    report = work / f"{name}_report"
    env = isolated_env(work, warehouse=work / "empty_warehouse.duckdb")
    env["IAPT_VALIDATE_SCRATCH"] = str(work / "scratch")
    proc = run_cli(["validate", str(src), "--period", PERIOD, "--report", str(report), "--no-gx"], env)
    assert proc.returncode in (0, 1), f"validate failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-5000:]}"
    return proc, report


def empty_idb() -> Idb:
    return {m.name: [] for m in table_meta()}


def valid_idb(n_families: int = 1) -> Idb:
    idb = empty_idb()
    idb["IDS000Header"].append(header())
    for i in range(n_families):
        add(idb, family(i, "B"))
    return idb


def add(idb: Idb, fam: Idb) -> None:
    for t, rows in fam.items():
        idb[t].extend(rows)


def record_key(table: str, row: dict[str, str | None], header_row: int | None = None) -> str:
    """The record's key as the report names it: from the values after the platform's cleansing (outer spaces
    trimmed from text and integer items; a date or time is named as written)."""
    if table == "IDS000Header":
        return f"HeaderRow={header_row}"
    m = next(t for t in table_meta() if t.name == table)
    types = dict(zip(m.columns, m.types))

    def text(c: str) -> str:
        v = row.get(c) or ""
        return v.strip(" ") if types[c] in ("string", "integer") else v

    return ";".join(f"{c}={text(c)}" for c in RECORD_KEYS[table])


def write_csv_dir(idb: Idb, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for m in table_meta():
        with (directory / f"{m.name}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(m.columns)
            for row in idb.get(m.name, []):
                w.writerow(["" if row.get(c) is None else row[c] for c in m.columns])
    return directory


# ------------------------------------------------------------------------------------------------
# making a rule fail
# ------------------------------------------------------------------------------------------------

def _codes(stem: str) -> set[str]:
    with (SEEDS / f"ref_{stem}.csv").open(newline="", encoding="utf-8") as fh:
        return {r["code"] for r in csv.DictReader(fh)}


def _not_in(codes: set[str], length: int) -> str:
    for ch in "QW7K":
        v = ch * max(length, 1)
        if v not in codes:
            return v
    raise AssertionError("no value outside the code list")


def _not_matching(pattern: str) -> str:
    for v in ("!!", "1", "ab", "ABCDEFGHIJ", "12345678901234567890X", "lower case"):
        if not re.search(pattern, v):
            return v
    raise AssertionError(f"no value fails {pattern}")


def _shift(date: str, days: int) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=days)).isoformat()


_FILLERS = {
    "EmpSupportReferral": "2026-10-05", "ServDischDate": "2026-10-20", "EndCode": "46", "Cancellation": "Y",
    "ObsValue": "5", "UnitMeasure": "score", "EmpSupportInd": "Y", "QualPlannedCompletionDate": "2026-12-01",
    "NHSNumber": None, "CodeFind": "F321", "FindSchemeInUse": "01",
}


def _row(fam: Idb, table: str) -> dict[str, str | None]:
    return fam[table][0]


def mutate(idb: Idb, rule: dict[str, Any], fam: Idb) -> list[str]:
    """Make ``rule`` fire on ``fam`` (already added to ``idb``); return the record keys it must be reported on."""
    check, p, table = rule["check_name"], rule["params"], rule["table_name"]
    if table == "IDS000Header":
        row = header()
        idb["IDS000Header"].append(row)
        _make_bad(check, p, row, table, fam)
        return [record_key(table, row, len(idb["IDS000Header"]))]
    if check == "unique":
        row = _row(fam, table)
        for c in p["columns"]:
            if row.get(c) is None:
                row[c] = "2026-10-05" if "Date" in c else "X1"
        if p.get("only_null"):
            row[p["only_null"]] = None
        for pred in p.get("filter", []):
            _apply_pred(pred, row)
        fam[table].append(copy.deepcopy(row))
        idb[table].append(fam[table][-1])
        return [record_key(table, row)]
    if check == "has_valid_child":
        idb[p["child_table"]][:] = [r for r in idb[p["child_table"]] if r not in fam[p["child_table"]]]
        return [record_key(table, _row(fam, table))]
    if check == "child_exists":
        for t in (p["child_table"], "IDS607CodedScoreAssessmentAct"):
            idb[t][:] = [r for r in idb[t] if r not in fam[t]]
        return [record_key(table, _row(fam, table))]
    if check == "discharge_followup":
        ref = _row(fam, table)
        ref["ServDischDate"], ref["EndCode"] = "2026-09-25", "46"
        for t in ("IDS606CodedScoreAssessmentRefer", "IDS607CodedScoreAssessmentAct"):
            idb[t][:] = [r for r in idb[t] if r not in fam[t]]
        return [record_key(table, ref)]
    row = _row(fam, table)
    _make_bad(check, p, row, table, fam)
    return [record_key(table, row)]


def _apply_pred(pred: dict[str, Any], row: dict[str, str | None]) -> None:
    c, op = pred["column"], pred["op"]
    if op in ("null", "null_or_not_in"):
        row[c] = None
    elif op == "not_null":
        if row.get(c) is None:
            row[c] = _FILLERS[c]
    elif op == "in":
        row[c] = pred["values"][0]
    elif op == "not_in":
        if row.get(c) is None or row[c] in pred["values"]:
            row[c] = next(v for v in sorted(_codes(CODE_LISTS[c])) if v not in pred["values"])
    elif op == "ne_header":
        row[c] = "RXX"
    else:
        raise AssertionError(op)


def _make_bad(check: str, p: dict[str, Any], row: dict[str, str | None], table: str, fam: Idb) -> None:
    c = p.get("column")
    if check == "not_blank":
        # missing, or only white space (spaces and a tab: "blank" too), alternating over the columns
        row[c] = " \t " if len(c) % 2 else None
    elif check == "length":
        # a postcode that only its IDB size rejects: one longer than 8, which IDSREJ007's \s+ allows
        row[c] = "LS1" + " " * (p["max"] - 5) + "4AP" if c == "Postcode" else "X" * (p["max"] + 1)
    elif check == "regex":
        row[c] = "2026/06" if p.get("fail_on") == "match" else _not_matching(p["pattern"])
    elif check == "valid_date":
        row[c] = "1980-02-30" if c == "PersonBirthDate" else "2026-02-30"  # a birth date no other item holds
    elif check == "valid_datetime":
        row[c] = "2026-13-01T00:00:00"
    elif check == "valid_time":
        row[c] = "25:61:00"
    elif check == "in_code_list":
        codes = _codes(p["code_list"])
        row[c] = _not_in(codes, len(row[c] or "XX"))
    elif check == "date_compare":
        _make_date_bad(p, row, table, fam)
    elif check == "cross_field":
        for pred in p["predicates"]:
            _apply_pred(pred, row)
    elif check == "submission_metadata":
        row[c] = {"period_start": "2026-09-01", "period_end": "2026-09-30", "provider_ods": "RYY",
                  "submitter_ods": "RYY", "upload_timestamp": "2099-01-01T00:00:00"}[p["expected"]]
    elif check == "nhs_number":
        good = row[c]
        row[c] = good[:9] + str((int(good[9]) + 1) % 10)
    elif check == "age_range":
        row[c] = "2026-12-01"
    elif check == "snomed":
        row[c] = "123456789"
    elif check == "scheme_code_format":
        icd = sorted(p["schemes"])[0]
        row[p["scheme_column"]] = icd
        row[c] = "F3210999"
    elif check == "assessment_score":
        row[c] = "AB" if p["kind"] == "format" else "99"
    elif check == "consecutive_registration":
        row[p["end"]] = "2026-10-10"
    elif check == "parent_valid":
        row[p["key"]] = "NOPARENT" + (row[p["key"]] or "")[-6:]
    else:
        raise AssertionError(f"no mutation for check {check}")


def _make_date_bad(p: dict[str, Any], row: dict[str, str | None], table: str, fam: Idb) -> None:
    c, op, other = p["column"], p["op"], p["other"]
    if p.get("precision") == "month":
        row[c] = "1979-01"
        return
    if "literal" in other:
        ref = other["literal"]
    elif other.get("table") == "IDS000Header":
        ref = {"ReportingPeriodStartDate": RP_START, "ReportingPeriodEndDate": RP_END}[other["column"]]
    elif other.get("table") and other["table"] != table:
        ref = fam[other["table"]][0][other["column"]]
    else:
        if row.get(other["column"]) is None:
            row[other["column"]] = "2026-10-20"
        ref = row[other["column"]]
    off = p.get("offset")
    days = 0 if not off else (off["n"] if off["unit"] == "day" else 366 * off["n"] + 1)
    row[c] = _shift(ref, days + 10) if op == ">" else _shift(ref, -10)


# ------------------------------------------------------------------------------------------------
# the batched fixture: one family per rule, mutated so that the rule fires
# ------------------------------------------------------------------------------------------------

# the check kinds a mutated family can make fire: the one list (validation/checks.py)
ROW_AND_CASCADE_CHECKS = ROW_CHECKS + CASCADE_CHECKS


def cascade_families() -> dict[str, Idb]:
    """Two cascade scenarios: 'only' = a patient whose only referral has an invalid received date;
    'one_of_two' = a patient with a second, valid referral (the patient must survive)."""
    only = family(0, "X")
    only["IDS101Referral"][0]["ReferralRequestReceivedDate"] = "2026-02-30"
    two = family(0, "Y")
    two["IDS101Referral"][0]["ReferralRequestReceivedDate"] = "2026-02-30"
    second = dict(two["IDS101Referral"][0], ServiceRequestId="SRY0000B", ReferralRequestReceivedDate="2026-09-01")
    two["IDS101Referral"].append(second)
    return {"only": only, "one_of_two": two}


def mutation_idb(rules: list[dict[str, Any]], n_good: int = 2) -> tuple[Idb, list[tuple[str, str, str]], list[str]]:
    """A file holding ``n_good`` untouched families plus one family per rule, mutated so the rule fires.

    Returns the IDB, the expectations ``(rule_code, table, record_key)`` and the record keys of the untouched
    families' rows (which must get no failure at all)."""
    idb = valid_idb(0)
    good_keys: list[str] = []
    for i in range(n_good):
        fam = family(i, "G")
        add(idb, fam)
        good_keys += [record_key(t, r) for t, rows in fam.items() for r in rows]
    for fam in cascade_families().values():
        add(idb, fam)
    expectations: list[tuple[str, str, str]] = []
    for i, rule in enumerate(rules):
        if rule["check_name"] not in ROW_AND_CASCADE_CHECKS:
            continue
        fam = family(i, "M")
        add(idb, fam)
        for key in mutate(idb, rule, fam):
            expectations.append((rule["rule_code"], rule["table_name"], key))
    return idb, expectations, good_keys
