"""Benchmark of the TOS rules at national scale (not a test): a synthetic month with N care contacts.

    python -m iapt_idb.validation.bench --contacts 1000000 --work /tmp/tos_bench [--gx]

Builds an IDB-shaped input (all 21 tables as text, one patient : one referral : 10 contacts : 10 care
activities : 10 scores, about 1% of rows spoiled) straight in DuckDB, then runs the validation models
with dbt exactly as ``iapt-idb validate`` does, and prints the time of each step and of the slowest models.
Writes only under --work (DuckDB file, dbt target and logs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import duckdb

from .api import build_validation_models
from .sources import INPUT_SCHEMA
from .tables import table_meta

PERIOD = "2026-10"


def _nhs_sql(i: str) -> str:
    """A valid NHS number (999 test range) for integer expression i, or null when none exists."""
    base = f"(999000000 + {i})"
    digits = " + ".join(f"(({base} // {10 ** (8 - k)}) % 10) * {10 - k}" for k in range(9))
    cd = f"(11 - ({digits}) % 11)"
    return (f"case when {cd} = 10 then null when {cd} = 11 then cast({base} as varchar) || '0' "
            f"else cast({base} as varchar) || cast({cd} as varchar) end")


def generate(db: Path, contacts: int) -> dict[str, int]:
    patients = max(contacts // 10, 1)
    con = duckdb.connect(str(db))
    s = INPUT_SCHEMA
    con.execute(f"create schema if not exists {s}")
    lp = "'LP' || lpad(cast(i as varchar), 9, '0')"
    sr = "'SR' || lpad(cast(i as varchar), 9, '0')"
    day = "strftime(date '2026-10-01' + cast(i % 31 as integer), '%Y-%m-%d')"
    sql = {
        "IDS000Header": "select '2.1' as DatSetVer, 'RZZ' as OrgIDProv, 'RZZ' as OrgIDSubmit, 'Bench' as PrimSystemInUse, "
                        "'2026-10-01' as ReportingPeriodStartDate, '2026-10-31' as ReportingPeriodEndDate, "
                        "'2026-11-02T09:00:00' as DateTimeDatSetCreate",
        "IDS001MPI": f"select {lp} as LocalPatientId, 'RZZ' as OrgIDLocalPatientId, {_nhs_sql('i')} as NHSNumber, "
                     "'01' as NHSNumberStatus, strftime(date '1950-01-01' + cast(i % 20000 as integer), '%Y-%m-%d') "
                     "as PersonBirthDate, case when i % 500 = 0 then 'LS14AP' else 'LS1 4AP' end as Postcode, "
                     "'1' as Gender, '1' as GenderIdentity, 'Y' as GenderIdentitySameAtBirth, "
                     "case when i % 100 = 0 then 'Q9' else 'A' end as EthnicCategory, null as EthnicCategory2021, "
                     "'03' as ExBAFIndicator, 'en' as LanguageCodePreferred, '8' as EduEstabTypeIAPT "
                     f"from range({patients}) t(i)",
        "IDS002GP": f"select {lp} as LocalPatientId, case when i % 300 = 0 then null else 'B86001' end as GMPCodeReg, "
                    f"'2015-01-01' as StartDateGMPRegistration, null as EndDateGMPRegistration from range({patients}) t(i)",
        "IDS003AccommStatus": f"select {lp} as LocalPatientId, '01' as AccommodationType, 'Y' as SettledAccommodationInd, "
                              f"{day} as AccommodationTypeDate, '2020-01-01' as AccommodationTypeStartDate, "
                              f"null as AccommodationTypeEndDate from range({patients}) t(i)",
        "IDS004EmpStatus": f"select {lp} as LocalPatientId, '01' as EmployStatus, {day} as EmployStatusRecDate, "
                           "'01' as WeekHoursWorked, 'N' as SelfEmployInd, 'N' as SickAbsenceInd, 'N' as SSPInd, "
                           "'N' as BenefitRecInd, 'N' as ESAInd, 'N' as UCInd, 'N' as PIPInd, 'N' as EmpSupportInd, "
                           f"null as EmpSupportReferral, null as EmpSupportDischargeDate from range({patients}) t(i)",
        "IDS007DisabilityType": f"select {lp} as LocalPatientId, 'NN' as DisabCode from range({patients}) t(i)",
        "IDS011SocPerCircumstances": f"select {lp} as LocalPatientId, case when i % 200 = 0 then '123456789' "
                                     f"else '160539008' end as SocPerCircumstance, {day} as SocPerCircumstanceRecDate "
                                     f"from range({patients}) t(i)",
        "IDS012OverseasVisitorChargCat": f"select {lp} as LocalPatientId, 'A' as OvsVisChCat, {day} as OvsVisChCatAppDate "
                                         f"from range({patients // 50}) t(i)",
        "IDS101Referral": f"select {sr} as ServiceRequestId, {lp} as LocalPatientId, '15F' as OrgIDComm, "
                          "case when i % 400 = 0 then '2026-02-30' else '2026-09-20' end as ReferralRequestReceivedDate, "
                          "'B1' as SourceOfReferralIAPT, '2026-06' as OnsetDate, 'N' as PrevDiagCondInd, "
                          f"null as EndCode, null as ServDischDate from range({patients}) t(i)",
        "IDS105OnwardReferral": f"select {sr} as ServiceRequestId, '2026-10-20' as OnwardReferDate, '10:00:00' as "
                                "OnwardReferTime, '01' as OnwardReferReason, 'RXX' as OrgIDReceiving "
                                f"from range(0, {patients}, 10) t(i)",
        "IDS108WaitingTimePauses": f"select 'P1' as PauseID, {sr} as ServiceRequestId, '2026-10-10' as PauseStartDate, "
                                   f"'2026-10-12' as PauseEndDate, '01' as PauseReason from range(0, {patients}, 10) t(i)",
        "IDS201CareContact": f"select 'CC' || lpad(cast(i as varchar), 10, '0') as CareContactId, "
                             f"'SR' || lpad(cast(i // 10 as varchar), 9, '0') as ServiceRequestId, {day} as CareContDate, "
                             "'09:30:00' as CareContTime, '15F' as OrgIDComm, 'Y' as PlannedCareContIndicator, "
                             "'5' as AttendOrDNACode, null as Cancellation, '60' as ClinContDurOfCareCont, "
                             "'N' as IAPTLTCServiceInd, case when i % 100 = 0 then null else '02' end as AppType, "
                             "case when i % 150 = 0 then '03' else '01' end as ConsMechanism, null as IntEnabledTherProg, "
                             "'1' as CareContPatientTherMode, null as NumGroupTherParticipants, "
                             "null as NumGroupTherFacilitators, '02' as PsychMed, 'A01' as ActLocTypeCode, "
                             "'RZZ01' as SiteIDOfTreat, 'en' as LanguageCodeTreat, 'X' as InterpreterPresentInd "
                             f"from range({contacts}) t(i)",
        "IDS202CareActivity": "select 'CA' || lpad(cast(i as varchar), 10, '0') as CareActId, "
                              "'CC' || lpad(cast(i as varchar), 10, '0') as CareContactId, "
                              "'CP' || cast(i % 500 as varchar) as CarePersLocalId, '60' as ClinContactDurOfCareAct, "
                              "'228557008' as CodeProcAndProcStatus, '01' as FindSchemeInUse, "
                              "case when i % 250 = 0 then 'F3' else 'F321' end as CodeFind, null as CodeObs, "
                              f"null as ObsValue, null as UnitMeasure from range({contacts}) t(i)",
        "IDS205InternetTherLog": f"select {sr} as ServiceRequestId, '2026-10-01' as StartDateIntEnabledTherLog, "
                                 "'2026-10-31' as EndDateIntEnabledTherLog, 'SilverCloud' as IntEnabledTherProg, "
                                 "'30' as DurationIntEnabledTher, 'CP1' as CarePersLocalId, 'N' as IntegratedSoftwareInd "
                                 f"from range(0, {patients}, 20) t(i)",
        "IDS601MedHistPrevDiag": f"select {lp} as LocalPatientId, '02' as DiagSchemeInUse, 'F329' as PrevDiag, "
                                 f"'2020-03-01' as DiagDate from range(0, {patients}, 10) t(i)",
        "IDS602LongTermCondition": f"select {sr} as ServiceRequestId, '04' as FindSchemeInUse, '44054006' as "
                                   f"LongTermCondition from range(0, {patients}, 5) t(i)",
        "IDS603PresentingComplaints": f"select {sr} as ServiceRequestId, '01' as FindSchemeInUse, 'F410' as PresComp, "
                                      f"'1' as PresCompCodSig, '2026-10-07' as PresCompDate from range({patients}) t(i)",
        "IDS606CodedScoreAssessmentRefer": f"select {sr} as ServiceRequestId, '720433000' as CodedAssToolType, "
                                           "case when i % 300 = 0 then '99' else '15' end as PersScore, "
                                           "'2026-10-07' as AssToolCompDate, '09:45:00' as AssToolCompTime "
                                           f"from range({patients}) t(i)",
        "IDS607CodedScoreAssessmentAct": "select 'CA' || lpad(cast(i as varchar), 10, '0') as CareActId, "
                                         "'445455005' as CodedAssToolType, case when i % 700 = 0 then 'AB' "
                                         f"else '12' end as PersScore from range({contacts}) t(i)",
        "IDS803CareCluster": f"select {lp} as LocalPatientId, '01' as AMHCareClustCodeFin, '2026-10-01' as "
                             "StartDateCareClust, '09:00:00' as StartTimeCareClust, null as EndDateCareClust, "
                             f"null as EndTimeCareClust from range(0, {patients}, 100) t(i)",
        "IDS902CarePersQual": "select 'CP' || cast(i as varchar) as CarePersLocalId, '10' as QualAttainLevelIAPT, "
                              "'2015-06-01' as QualAwardedDate, null as QualPlannedCompletionDate from range(500) t(i)",
    }
    counts = {}
    for m in table_meta():
        cols = ", ".join(f'cast("{c}" as varchar) as "{c}"' for c in m.columns)
        con.execute(f'create or replace table {s}."{m.name}" as select {cols} from ({sql[m.name]})')
        counts[m.name] = con.execute(f'select count(*) from {s}."{m.name}"').fetchone()[0]
    con.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=1_000_000, help="care contacts in the month (default 1,000,000)")
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (DuckDB file, dbt target and logs)")
    ap.add_argument("--gx", action="store_true", help="also time the Great Expectations suites")
    args = ap.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ["DBT_TARGET_PATH"] = str(work / "target")
    os.environ["DBT_LOG_PATH"] = str(work / "logs")
    db = work / "bench.duckdb"
    db.unlink(missing_ok=True)
    wh = work / "empty_warehouse.duckdb"
    duckdb.connect(str(wh)).close()
    t0 = time.perf_counter()
    counts = generate(db, args.contacts)
    t1 = time.perf_counter()
    print(f"generated {sum(counts.values()):,} rows ({args.contacts:,} contacts) in {t1 - t0:.1f}s", file=sys.stderr)
    build_validation_models(db, PERIOD, warehouse=wh, input_schema=INPUT_SCHEMA)
    t2 = time.perf_counter()
    results = json.loads((work / "target" / "run_results.json").read_text(encoding="utf-8"))
    models = sorted((r for r in results["results"] if r["unique_id"].startswith("model.")),
                    key=lambda r: -r["execution_time"])
    rules_time = sum(r["execution_time"] for r in models)
    print(f"dbt build (seeds, validation models, tests) {t2 - t1:.1f}s wall; dbt elapsed "
          f"{results['elapsed_time']:.1f}s; validation models {rules_time:.1f}s (summed over 2 threads)")
    for r in models[:6]:
        print(f"  {r['execution_time']:7.1f}s  {r['unique_id'].split('.')[-1]}")
    con = duckdb.connect(str(db), read_only=True)
    print(con.execute("select file_rejected, file_reject_rules, rows_submitted, rows_kept, record_reject_failures, "
                      "group_reject_failures, warnings from main_validation.tos_summary").fetchall())
    con.close()
    if args.gx:
        from .gx import run_gx

        t3 = time.perf_counter()
        run_gx(db, work / "report", PERIOD)
        print(f"Great Expectations {time.perf_counter() - t3:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
