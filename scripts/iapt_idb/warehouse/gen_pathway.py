"""Referrals and what happens on them: assessment, treatment sessions, discharge, onward referral,
waiting pauses, presenting problems, long-term conditions, digital therapy and employment history.

Everything is planned per referral (numbers of appointments, fate, trajectory) and then expanded to
appointment "slots" with numpy, so a chunk of patients never needs a Python loop over its rows.
Events later than the extract date are cut off: such referrals are still open (or still waiting).
"""

from __future__ import annotations

import numpy as np

from . import gen_reference as ref
from .gen_context import DAY, Context, days, group_positions, weighted
from .gen_frame import Coded, Ids, Rows
from .gen_people import People, localize
from .gen_plan import ASSESS, FAIL, MISSED_OUTCOMES, NAT, TREAT, TREATED, Plan, plan_referrals
from .gen_scores import score_rows
from .gen_staff import Staff, staff_ids


def _onset_text(received: np.ndarray, months_before: np.ndarray) -> np.ndarray:
    month = received.astype("datetime64[M]") - months_before.astype(np.int64) * np.timedelta64(1, "M")
    return np.datetime_as_string(month, unit="M").astype(object)


def generate_pathways(
    rng: np.random.Generator, people: People, staff: Staff, ctx: Context
) -> dict[str, Rows]:
    c = ctx.codes
    d = ctx.dates
    plan, slots = plan_referrals(rng, people, ctx)
    n_ref = len(plan.patient)
    ref_num = ctx.counters.take("referral", n_ref)

    # --- cut off at the extract date ---------------------------------------------------------
    visible = slots["date"] <= d.extract
    slots = {k: v[visible] for k, v in slots.items()}
    closed = plan.end <= d.extract
    discharged_on = np.where(closed, plan.end, NAT).astype("datetime64[D]")
    end_local = localize(rng, c["discharge_reason"], np.where(closed, plan.end_nat, None))

    # --- referral-level attributes -----------------------------------------------------------
    pidx = plan.patient
    has_ltc = rng.random(n_ref) < 0.15
    ltc_path = has_ltc & (rng.random(n_ref) < 0.6)
    primary = plan.problem
    clinician = np.where(
        plan.high_intensity,
        staff.high_intensity[rng.integers(0, len(staff.high_intensity), n_ref)],
        staff.low_intensity[rng.integers(0, len(staff.low_intensity), n_ref)],
    )
    mode = weighted(rng, n_ref, {"1": 0.92, "3": 0.07, "2": 0.01})
    mode = np.where((mode == "2") & ~plan.high_intensity, "1", mode)
    mech = weighted(rng, n_ref, {"01": 0.28, "02": 0.40, "11": 0.27, "05": 0.01, "09": 0.01, "10": 0.02, "04": 0.002, "98": 0.008})
    digital = (plan.fate == TREATED) & (rng.random(n_ref) < 0.12)
    programme = np.array(ref.DIGITAL_PROGRAMMES, dtype=object)[rng.integers(0, len(ref.DIGITAL_PROGRAMMES), n_ref)]
    employment_adviser = (plan.fate == TREATED) & (rng.random(n_ref) < 0.06)
    lang = people.language[pidx]
    treat_lang = np.where((lang != "en") & (rng.random(n_ref) < 0.4), "en", lang)
    site = np.array(ref.SITES, dtype=object)[rng.integers(0, len(ref.SITES), n_ref)]
    meds = c["psychotropic_medication"].sample(rng, n_ref, {"01": 0.42, "02": 0.05, "03": 0.43, "UU": 0.06, "ZZ": 0.04})
    commissioner = people.commissioner[pidx]
    referral_id = Ids(ref_num, "RF", 10)

    referral: Rows = {
        "referral_id": referral_id,
        "patient_id": people.patient_id[pidx],
        "commissioner_code": commissioner,
        "received_on": plan.received,
        "referral_source": Coded(c["referral_source"].sample(rng, n_ref, {
            "B1": 0.52, "A1": 0.30, "A3": 0.03, "H2": 0.02, "H1": 0.01, "M7": 0.03, "N1": 0.01, "N2": 0.01, "P1": 0.02,
            "D2": 0.01, "D1": 0.005, "G4": 0.01, "C1": 0.005, "M6": 0.01, "M5": 0.003, "A2": 0.003, "A4": 0.004,
            "B2": 0.003, "C2": 0.002, "C3": 0.002, "E1": 0.001, "E3": 0.001,
        }), c["referral_source"]),
        "problem_onset": _onset_text(plan.received, rng.integers(1, 61, n_ref)),
        "previously_diagnosed": Coded(c["yes_no_unknown"].sample(rng, n_ref, {"Y": 0.35, "N": 0.5, "U": 0.1, "Z": 0.05}), c["yes_no_unknown"]),
        "discharge_reason": end_local,
        "discharged_on": discharged_on,
    }

    tables: dict[str, Rows] = {"referral": referral}
    appt, appt_info = _appointments(rng, plan, slots, ref_num, ctx, commissioner, ltc_path, mode, mech, digital, programme,
                                    employment_adviser, treat_lang, site, meds, closed)
    tables["appointment"] = appt
    interventions, first_iv = _interventions(rng, plan, appt_info, staff, clinician, employment_adviser, primary, ctx)
    tables["appointment_intervention"] = interventions
    tables["questionnaire_score"] = score_rows(rng, plan, appt_info, first_iv, primary, ref_num, ctx)
    tables["presenting_problem"] = _problems(rng, plan, appt_info, primary, ref_num, ctx)
    tables["long_term_condition"] = _ltcs(rng, has_ltc, ref_num, ctx)
    tables["digital_therapy_log"] = _digital(rng, plan, appt_info, digital, programme, clinician, ref_num, ctx)
    tables["waiting_pause"] = _pauses(rng, plan, appt_info, ref_num, ctx)
    tables["onward_referral"] = _onward(rng, plan, closed, ref_num, ctx)
    tables["employment_history"] = _employment(rng, plan, appt_info, people, ctx)
    return tables


def _appointments(rng, plan: Plan, slots, ref_num, ctx: Context, commissioner, ltc_path, mode, mech, digital, programme,
                  employment_adviser, treat_lang, site, meds, closed):
    c = ctx.codes
    d = ctx.dates
    owner = slots["owner"]
    stage = slots["stage"]
    attended = slots["attended"]
    m = len(owner)

    # follow-ups some weeks after a completed treatment (type "follow-up after discharge")
    fu_ref = np.flatnonzero(closed & (plan.end_nat == "46") & (rng.random(len(closed)) < 0.06))
    fu_date = plan.end[fu_ref] + days(rng.uniform(42, 84, len(fu_ref)))
    keep = fu_date <= d.extract
    fu_ref, fu_date = fu_ref[keep], fu_date[keep]
    FOLLOW = 3
    owner = np.concatenate([owner, fu_ref])
    stage = np.concatenate([stage, np.full(len(fu_ref), FOLLOW)])
    date = np.concatenate([slots["date"], fu_date])
    attended = np.concatenate([attended, rng.random(len(fu_ref)) < 0.85])
    t_index = np.concatenate([slots["t_index"], np.full(len(fu_ref), -1)])
    last_treat = np.concatenate([slots["last_treat"], np.zeros(len(fu_ref), dtype=bool)])
    m = len(owner)
    order = np.lexsort((date, owner))
    owner, stage, date, attended, t_index, last_treat = (a[order] for a in (owner, stage, date, attended, t_index, last_treat))

    appt_num = ctx.counters.take("appointment", m)
    hi = plan.high_intensity[owner]
    group = (mode[owner] == "3") & (stage == TREAT)
    couple = (mode[owner] == "2") & (stage == TREAT)
    minute = 8 * 60 + 30 * rng.integers(0, 20, m)
    starts = date.astype("datetime64[m]") + minute.astype(np.int64) * np.timedelta64(1, "m")

    # appointment purpose by stage (national meaning)
    type_nat = np.select(
        [stage == FAIL, stage == ASSESS, stage == FOLLOW],
        ["01", "01", "06"],
        default="03",
    ).astype(object)
    review = (stage == TREAT) & (rng.random(m) < 0.03)
    type_nat[review] = "04"
    type_nat[(stage == TREAT) & (t_index == 0) & ~hi & (rng.random(m) < 0.15)] = "02"
    type_nat[last_treat & (plan.end_nat[owner] == "46")] = "05"
    ea_slot = employment_adviser[owner] & (stage == TREAT) & (rng.random(m) < 0.3) & ~last_treat & (t_index > 0)
    type_nat[ea_slot] = "07"
    type_nat[(stage == TREAT) & (rng.random(m) < 0.002)] = "08"

    outcome_nat = np.where(attended, np.where(rng.random(m) < 0.93, "5", "6"), weighted(rng, m, MISSED_OUTCOMES)).astype(object)
    duration = np.select(
        [stage == ASSESS, group, (stage == TREAT) & hi, stage == TREAT],
        [np.where(hi, rng.integers(50, 76, m), rng.integers(30, 61, m)), rng.integers(90, 121, m), rng.integers(45, 66, m), rng.integers(25, 41, m)],
        default=rng.integers(20, 41, m),
    ).astype(float)
    duration[~attended] = np.nan

    mech_nat = np.where(rng.random(m) < 0.8, mech[owner], weighted(rng, m, {"01": 0.3, "02": 0.4, "11": 0.3})).astype(object)
    mech_nat[group] = np.where(rng.random(int(group.sum())) < 0.6, "01", "11")
    face = mech_nat == "01"
    loc_nat = np.where(face, weighted(rng, m, {"B01": 0.6, "B02": 0.3, "C01": 0.07, "E01": 0.02, "D01": 0.01}),
                       weighted(rng, m, {"L99": 0.75, "A01": 0.25})).astype(object)
    mode_nat = np.where(group, "3", np.where(couple, "2", "1")).astype(object)
    lang_nat = treat_lang[owner]
    interp_nat = np.where(lang_nat == "en", "4", weighted(rng, m, {"1": 0.75, "2": 0.1, "3": 0.05, "5": 0.1})).astype(object)
    interp_nat[(rng.random(m) < 0.01)] = "X"
    digital_slot = digital[owner] & (stage == TREAT)

    appt: Rows = {
        "appointment_id": Ids(appt_num, "AP", 12),
        "referral_id": Ids(ref_num[owner], "RF", 10),
        "starts_at": starts.astype("datetime64[s]"),
        "commissioner_code": commissioner[owner],
        "booked": rng.random(m) < 0.97,
        "outcome": localize(rng, c["attendance"], outcome_nat),
        "duration_minutes": duration,
        "ltc_pathway": ltc_path[owner],
        "appointment_type": localize(rng, c["appointment_type"], type_nat),
        "contact_method": localize(rng, c["contact_method"], mech_nat),
        "digital_programme": np.where(digital_slot, programme[owner], None),
        "therapy_mode": localize(rng, c["therapy_mode"], mode_nat),
        "group_size": np.where(group, rng.integers(6, 15, m), np.nan),
        "group_facilitators": np.where(group, rng.integers(1, 4, m), np.nan),
        "psychotropic_medication": Coded(meds[owner], c["psychotropic_medication"]),
        "location_type": localize(rng, c["location_type"], loc_nat),
        "site_code": np.where(face, site[owner], ref.SITES[0]).astype(object),
        "treatment_language": localize(rng, c["language"], lang_nat),
        "interpreter": localize(rng, c["interpreter"], interp_nat),
    }
    info = {
        "owner": owner, "stage": stage, "date": date, "starts": starts.astype("datetime64[s]"), "attended": attended,
        "t_index": t_index, "last_treat": last_treat, "num": appt_num, "duration": duration, "ea_slot": ea_slot,
        "follow": stage == FOLLOW,
    }
    return appt, info


def _interventions(rng, plan: Plan, info, staff: Staff, clinician, employment_adviser, primary, ctx: Context):
    c = ctx.codes
    att = np.flatnonzero(info["attended"])
    k = rng.choice([1, 2, 3], size=len(att), p=[0.78, 0.18, 0.04])
    grp, pos = group_positions(k)
    slot = att[grp]
    m = len(slot)
    owner = info["owner"][slot]
    iv_num = ctx.counters.take("appointment_intervention", m)
    who = clinician[owner].copy()
    other = (pos > 0) & (rng.random(m) < 0.3)
    who[other] = rng.integers(0, ctx.n_staff, int(other.sum()))
    ea = info["ea_slot"][slot]
    who[ea] = staff.employment[rng.integers(0, len(staff.employment), int(ea.sum()))]
    dur = info["duration"][slot] / k[grp]
    dur = np.maximum(5, np.round(dur * rng.uniform(0.8, 1.2, m)))
    hi = plan.high_intensity[owner]
    li_procs = np.array(ref.PROCEDURES[2:4] + ref.PROCEDURES[7:8], dtype=object)
    hi_procs = np.array(ref.PROCEDURES[:2] + ref.PROCEDURES[4:7], dtype=object)
    proc = np.where(hi, hi_procs[rng.integers(0, len(hi_procs), m)], li_procs[rng.integers(0, len(li_procs), m)])

    problem = primary[owner]
    icd = np.array([p.icd10 for p in ref.PROBLEMS], dtype=object)[problem]
    sct = np.array([p.snomed for p in ref.PROBLEMS], dtype=object)[problem]
    finding = rng.random(m) < 0.10
    use_sct = finding & (sct != None) & (rng.random(m) < 0.3)  # noqa: E711
    scheme_nat = np.where(finding, np.where(use_sct, "04", "01"), None)
    obs = rng.random(m) < 0.03
    which = rng.integers(0, len(ref.OBSERVATIONS), m)
    obs_code = np.array([o[0] for o in ref.OBSERVATIONS], dtype=object)[which]
    obs_unit = np.array([o[1] for o in ref.OBSERVATIONS], dtype=object)[which]
    lo = np.array([o[2] for o in ref.OBSERVATIONS])[which]
    hi_v = np.array([o[3] for o in ref.OBSERVATIONS])[which]
    val = lo + (hi_v - lo) * rng.random(m)
    val_text = np.where(which == 2, np.round(val).astype(int).astype(str), np.char.mod("%.1f", val)).astype(object)

    rows: Rows = {
        "intervention_id": Ids(iv_num, "IV", 12),
        "appointment_id": Ids(info["num"][slot], "AP", 12),
        "staff_id": staff_ids(who),
        "duration_minutes": dur,
        "procedure_snomed": proc,
        "finding_scheme": localize(rng, c["finding_scheme"], scheme_nat),
        "finding_code": np.where(finding, np.where(use_sct, sct, icd), None),
        "observation_snomed": np.where(obs, obs_code, None),
        "observation_value": np.where(obs, val_text, None),
        "observation_unit": np.where(obs, obs_unit, None),
    }
    first_iv = np.full(len(info["owner"]), -1, dtype=np.int64)
    first_iv[slot[pos == 0]] = iv_num[pos == 0]
    return rows, first_iv



def _first_seen(plan: Plan, info) -> np.ndarray:
    """Date of each referral's attended assessment (NaT if none yet)."""
    out = np.full(len(plan.patient), NAT, dtype="datetime64[D]")
    a = info["stage"] == ASSESS
    out[info["owner"][a]] = info["date"][a]
    return out


def _problems(rng, plan: Plan, info, primary, ref_num, ctx: Context) -> Rows:
    cs_scheme, cs_sig = ctx.codes["finding_scheme"], ctx.codes["problem_significance"]
    n = len(plan.patient)
    seen = _first_seen(plan, info)
    recorded = ~np.isnat(seen)
    from_letter = ~recorded & (rng.random(n) < 0.4) & (plan.received <= ctx.dates.extract)
    has = recorded | from_letter
    when = np.where(recorded, seen, plan.received)
    second = has & (rng.random(n) < 0.3)
    sec_problem = (primary + rng.integers(1, len(ref.PROBLEMS), n)) % len(ref.PROBLEMS)
    owners = np.concatenate([np.flatnonzero(has), np.flatnonzero(second)])
    problem = np.concatenate([primary[has], sec_problem[second]])
    sig_nat = np.array(["1"] * int(has.sum()) + ["2"] * int(second.sum()), dtype=object)
    icd = np.array([p.icd10 for p in ref.PROBLEMS], dtype=object)[problem]
    sct = np.array([p.snomed for p in ref.PROBLEMS], dtype=object)[problem]
    use_sct = (sct != None) & (rng.random(len(owners)) < 0.2)  # noqa: E711
    return {
        "problem_id": ctx.counters.take("presenting_problem", len(owners)),
        "referral_id": Ids(ref_num[owners], "RF", 10),
        "coding_scheme": localize(rng, cs_scheme, np.where(use_sct, "04", "01").astype(object)),
        "problem_code": np.where(use_sct, sct, icd),
        "significance": localize(rng, cs_sig, sig_nat),
        "recorded_on": when[owners],
    }


def _ltcs(rng, has_ltc, ref_num, ctx: Context) -> Rows:
    k = np.where(has_ltc, np.where(rng.random(len(has_ltc)) < 0.2, 2, 1), 0)
    owner, pos = group_positions(k)
    m = len(owner)
    first = rng.integers(0, len(ref.LONG_TERM_CONDITIONS), m)
    which = np.where(pos == 1, (np.roll(first, 1) + 1 + first % 3) % len(ref.LONG_TERM_CONDITIONS), first)
    use_sct = rng.random(m) < 0.3
    icd = np.array([x[0] for x in ref.LONG_TERM_CONDITIONS], dtype=object)[which]
    sct = np.array([x[1] for x in ref.LONG_TERM_CONDITIONS], dtype=object)[which]
    return {
        "ltc_id": ctx.counters.take("long_term_condition", m),
        "referral_id": Ids(ref_num[owner], "RF", 10),
        "coding_scheme": localize(rng, ctx.codes["finding_scheme"], np.where(use_sct, "04", "01").astype(object)),
        "condition_code": np.where(use_sct, sct, icd),
    }


def _treatment_span(plan: Plan, info) -> tuple[np.ndarray, np.ndarray]:
    """First and last treatment appointment date of each referral (NaT if none)."""
    n = len(plan.patient)
    first = np.full(n, NAT, dtype="datetime64[D]")
    last = np.full(n, NAT, dtype="datetime64[D]")
    t = info["stage"] == TREAT
    own, dt = info["owner"][t], info["date"][t]
    # slots are sorted by (owner, date): write in reverse for the first, forward for the last
    first[own[::-1]] = dt[::-1]
    last[own] = dt
    return first, last


def _digital(rng, plan: Plan, info, digital, programme, clinician, ref_num, ctx: Context) -> Rows:
    first, last = _treatment_span(plan, info)
    ok = digital & ~np.isnat(first)
    refs = np.flatnonzero(ok)
    span = np.maximum((last[refs] - first[refs]) / DAY, 1)
    k = np.minimum(np.ceil(span / 30).astype(np.int64), 6)
    owner, pos = group_positions(k)
    r = refs[owner]
    start = first[r] + days(pos * 30)
    end = np.minimum(start + days(29), np.maximum(last[r], start))
    return {
        "log_id": ctx.counters.take("digital_therapy_log", len(owner)),
        "referral_id": Ids(ref_num[r], "RF", 10),
        "programme": programme[r],
        "started_on": start,
        "ended_on": end,
        "minutes": rng.integers(10, 91, len(owner)),
        "staff_id": staff_ids(clinician[r]),
        "integrated_software": rng.random(len(owner)) < 0.3,
    }


def _pauses(rng, plan: Plan, info, ref_num, ctx: Context) -> Rows:
    seen = _first_seen(plan, info)
    refs = np.flatnonzero((plan.pause_days > 0) & ~np.isnat(seen))
    start = seen[refs] + days(rng.uniform(2, 6, len(refs)))
    keep = start <= ctx.dates.extract
    refs, start = refs[keep], start[keep]
    end = start + days(plan.pause_days[refs])
    end = np.where(end <= ctx.dates.extract, end, NAT).astype("datetime64[D]")
    return {
        "pause_id": ctx.counters.take("waiting_pause", len(refs)),
        "referral_id": Ids(ref_num[refs], "RF", 10),
        "pause_number": np.ones(len(refs), dtype=np.int32),
        "paused_from": start,
        "paused_to": end,
        "pause_reason": Coded(ctx.codes["pause_reason"].sample(rng, len(refs), {"01": 0.6, "02": 0.3, "03": 0.1}), ctx.codes["pause_reason"]),
    }


ONWARD_SHARE = {"13": 1.0, "11": 0.4, "10": 0.2, "46": 0.06, "47": 0.04}


def _onward(rng, plan: Plan, closed, ref_num, ctx: Context) -> Rows:
    share = np.array([ONWARD_SHARE.get(e, 0.0) for e in plan.end_nat])
    refs = np.flatnonzero(closed & (rng.random(len(share)) < share))
    at = plan.end[refs].astype("datetime64[s]") + rng.integers(9 * 3600, 17 * 3600, len(refs)) * np.timedelta64(1, "s")
    return {
        "onward_referral_id": ctx.counters.take("onward_referral", len(refs)),
        "referral_id": Ids(ref_num[refs], "RF", 10),
        "referred_at": at,
        "reason": Coded(ctx.codes["onward_referral_reason"].sample(rng, len(refs), {
            "01": 0.2, "02": 0.3, "03": 0.1, "04": 0.15, "05": 0.05, "06": 0.1, "96": 0.1}), ctx.codes["onward_referral_reason"]),
        "receiving_org": np.array(ref.RECEIVING_ORGS, dtype=object)[rng.integers(0, len(ref.RECEIVING_ORGS), len(refs))],
    }


def _employment(rng, plan: Plan, info, people: People, ctx: Context) -> Rows:
    c = ctx.codes
    seen = _first_seen(plan, info)
    _, last = _treatment_span(plan, info)
    a = np.flatnonzero(~np.isnat(seen))
    b = np.flatnonzero(~np.isnat(last) & (plan.end_nat == "46") & (rng.random(len(last)) < 0.3))
    refs = np.concatenate([a, b])
    when = np.concatenate([seen[a], last[b]])
    m = len(refs)
    age = people.age[plan.patient[refs]]
    status = weighted(rng, m, {"01": 0.55, "02": 0.10, "04": 0.10, "05": 0.06, "06": 0.05, "07": 0.02, "03": 0.04, "08": 0.03, "ZZ": 0.02})
    status = np.where((age >= 66) & (rng.random(m) < 0.75), "08", status)
    status = np.where((age < 23) & (rng.random(m) < 0.4), "03", status)
    employed = status == "01"
    hours = np.where(employed, weighted(rng, m, {"01": 0.6, "02": 0.25, "03": 0.1, "04": 0.03, "99": 0.02}), "98").astype(object)
    yn = c["yes_no_unknown"]

    def yes(prob: np.ndarray | float, eligible: np.ndarray) -> Coded:
        nat = np.where(rng.random(m) < prob, "Y", "N").astype(object)
        nat = np.where(rng.random(m) < 0.03, "U", nat)
        return localize(rng, yn, np.where(eligible, nat, None))

    sick = yes(0.2, employed)
    benefit_prone = np.isin(status, ["02", "04", "05", "06"])
    suitable_nat = np.where(rng.random(m) < 0.5, None, np.where(np.isin(status, ["01", "02"]), weighted(rng, m, {"Y": 0.2, "N": 0.5, "NA": 0.3}), "NA")).astype(object)
    referred = (suitable_nat == "Y") & (rng.random(m) < 0.45)
    ref_on = np.where(referred, when + days(rng.uniform(3, 30, m)), NAT).astype("datetime64[D]")
    disch = ref_on + days(rng.uniform(60, 200, m))
    disch = np.where(referred & (disch <= ctx.dates.extract), disch, NAT).astype("datetime64[D]")
    ref_on = np.where(ref_on <= ctx.dates.extract, ref_on, NAT).astype("datetime64[D]")
    return {
        "employment_id": ctx.counters.take("employment_history", m),
        "patient_id": people.patient_id[plan.patient[refs]],
        "status": localize(rng, c["employment_status"], status.astype(object)),
        "recorded_on": when,
        "hours_band": localize(rng, c["hours_band"], hours),
        "self_employed": yes(0.12, employed),
        "sick_leave": sick,
        "statutory_sick_pay": yes(0.5, employed & (yn.national_of(sick.idx) == "Y")),
        "any_benefit": yes(np.where(benefit_prone, 0.8, 0.15), np.ones(m, dtype=bool)),
        "esa": yes(np.where(status == "04", 0.6, 0.03), np.ones(m, dtype=bool)),
        "universal_credit": yes(np.where(benefit_prone, 0.6, 0.08), np.ones(m, dtype=bool)),
        "pip": yes(np.where(status == "04", 0.5, 0.04), np.ones(m, dtype=bool)),
        "employment_support_suitable": localize(rng, c["employment_support_suitable"], suitable_nat),
        "employment_support_referred_on": ref_on,
        "employment_support_discharged_on": disch,
    }
