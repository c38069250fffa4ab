"""Referral plans: how many referrals a patient has, what becomes of each (never seen, not
assessed, assessed only, treated), and the appointment "slots" that follow, with their dates.

Everything is drawn per referral and expanded to slots with numpy (no Python loop over rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import gen_reference as ref
from .gen_context import Context, days, group_positions, weighted
from .gen_people import People

NAT = np.datetime64("NaT")

# referral fates
NO_CONTACT, NOT_ASSESSED, NOT_TREATED, TREATED = 0, 1, 2, 3
# slot stages
FAIL, ASSESS, TREAT = 0, 1, 2

REFERRALS_PER_PATIENT = {1: 0.46, 2: 0.32, 3: 0.22}
NOT_TREATED_REASONS = {"10": 0.15, "11": 0.25, "12": 0.25, "13": 0.13, "14": 0.12, "16": 0.075, "17": 0.005, "95": 0.02}
TREATED_REASONS = {"46": 0.62, "47": 0.28, "48": 0.05, "49": 0.003, "96": 0.017}
SINGLE_SESSION_REASONS = {"46": 0.35, "47": 0.50, "48": 0.10, "96": 0.05}
MISSED_OUTCOMES = {"3": 0.55, "2": 0.28, "4": 0.14, "7": 0.03}

# What becomes of a referral, tuned so that about a third of referrals ending finish a course of
# treatment (two or more treatment sessions), as nationally (reference/calibration_targets.csv):
NO_CONTACT_SHARE = 0.14  # never seen (opt-in not taken up, referral not accepted)
NOT_TREATED_SHARE = 0.22  # of those assessed: signposted, advice only, declined, referred on
SINGLE_SESSION_SHARE = 0.41  # of those entering treatment: one treatment session, then ended
# share stepped to high intensity (step 3) by ICD-10 presenting problem: NICE recommends
# high-intensity therapy first for PTSD, OCD, social anxiety and severe or recurrent depression
HIGH_INTENSITY_SHARE = {"F32.0": 0.25, "F32.1": 0.45, "F32.2": 0.75, "F33.1": 0.6, "F41.2": 0.35, "F41.1": 0.35,
                        "F41.0": 0.4, "F40.1": 0.65, "F43.1": 0.85, "F42.2": 0.6, "F45.2": 0.5, "F40.0": 0.4,
                        "F40.2": 0.35, "F43.2": 0.35}
# planned treatment sessions (integers, upper bound exclusive): step 2 about 7, step 3 about 14
STEP2_SESSIONS, STEP3_SESSIONS = (3, 12), (8, 21)
LONG_WAIT_SHARE = 0.04  # of step 3 referrals: those waiting months for a specialist therapy (the 18-week tail)
PAUSE_SHARE = 0.04
# the "hidden wait" between the first and second treatment session (e.g. an initial session, then a
# waiting list for the rest of the course): (share, shortest, longest days) for step 2 and step 3
SECOND_WAIT_STEP2, SECOND_WAIT_STEP3 = (0.15, 21, 75), (0.6, 28, 150)
# days from the last appointment (or the referral, if none) to the discharge: opt-in letters, attempts
# to re-engage, a final review; referrals stay open for weeks after the last contact, as in real services
DISCHARGE_LAG = {"no contact": (28, 90), "not assessed": (21, 60), "not treated": (14, 60), "completed": (7, 42),
                 "ended early": (28, 150)}
ATTENDANCE = 0.89  # treatment sessions attended; of those missed, MISSED_OUTCOMES says how


@dataclass
class Plan:
    """Per-referral plan (arrays of one length)."""

    patient: np.ndarray  # index into the block's People
    received: np.ndarray
    problem: np.ndarray  # primary presenting problem: index into gen_reference.PROBLEMS
    fate: np.ndarray
    n_fail: np.ndarray
    high_intensity: np.ndarray  # bool
    treat_slots: np.ndarray  # planned treatment appointments
    trailing_dna: np.ndarray
    end_nat: np.ndarray  # national discharge reason (object)
    gap0: np.ndarray  # days from referral to first appointment
    gap_treat: np.ndarray  # days from assessment to first treatment (includes any pause)
    second_wait: np.ndarray  # extra days between the first and second treatment session (0 = none)
    pause_days: np.ndarray  # 0 = no pause
    end: np.ndarray  # projected discharge date (may be after the extract)


def _plan(rng: np.random.Generator, patient: np.ndarray, received: np.ndarray) -> Plan:
    n = len(patient)
    weights = np.array([p.weight for p in ref.PROBLEMS])
    problem = rng.choice(len(ref.PROBLEMS), size=n, p=weights / weights.sum())
    r = rng.random(n)
    n_fail = rng.choice([0, 1, 2], size=n, p=[0.80, 0.14, 0.06])
    fate = np.where(r < NO_CONTACT_SHARE, NO_CONTACT, TREATED)
    not_assessed = (fate != NO_CONTACT) & (n_fail == 2) & (rng.random(n) < 0.5)
    fate = np.where(not_assessed, NOT_ASSESSED, fate)
    assessed = fate == TREATED
    fate = np.where(assessed & (rng.random(n) < NOT_TREATED_SHARE), NOT_TREATED, fate)
    n_fail = np.where(fate == NO_CONTACT, 0, n_fail)
    single = (fate == TREATED) & (rng.random(n) < SINGLE_SESSION_SHARE)

    step3_share = np.array([HIGH_INTENSITY_SHARE.get(p.icd10, 0.4) for p in ref.PROBLEMS])[problem]
    hi = rng.random(n) < np.where(single, step3_share * 0.3, step3_share)
    planned = np.where(hi, rng.integers(*STEP3_SESSIONS, n), rng.integers(*STEP2_SESSIONS, n))
    end_nat = np.full(n, "50", dtype=object)
    end_nat[fate == NOT_TREATED] = weighted(rng, int((fate == NOT_TREATED).sum()), NOT_TREATED_REASONS)
    end_nat[fate == TREATED] = weighted(rng, int((fate == TREATED).sum()), TREATED_REASONS)
    end_nat[single] = weighted(rng, int(single.sum()), SINGLE_SESSION_REASONS)
    early = (fate == TREATED) & np.isin(end_nat, ["47", "48", "49", "96"])
    cut = np.maximum(2, np.round(planned * rng.uniform(0.15, 0.7, n))).astype(np.int64)
    treat_slots = np.where(fate == TREATED, np.where(single, 1, np.where(early, cut, planned)), 0)
    trailing = np.where(early & (end_nat == "47"), rng.integers(1, 3, n), 0)

    # waits: most are assessed within a few weeks and start treatment soon after (about nine in ten
    # finished courses started within six weeks of referral); step 3 waits longer, a few for months
    gap0 = 1 + rng.gamma(1.5, 6.5, n)
    pause = np.where((fate == TREATED) & (rng.random(n) < PAUSE_SHARE), rng.uniform(14, 56, n), 0.0)
    long_wait = np.where(hi & (rng.random(n) < LONG_WAIT_SHARE), rng.uniform(90, 180, n), 0.0)
    gap_treat = np.where(hi, 2 + rng.gamma(1.2, 10.0, n) + long_wait, 1 + rng.gamma(1.2, 4.0, n)) + pause
    share, low, high = (np.where(hi, a, b) for a, b in zip(SECOND_WAIT_STEP3, SECOND_WAIT_STEP2))
    second_wait = np.where(rng.random(n) < share, rng.uniform(low, high), 0.0)
    return Plan(patient, received, problem, fate, n_fail, hi, treat_slots, trailing, end_nat, gap0, gap_treat,
                second_wait, pause, received)


def _slots(rng: np.random.Generator, plan: Plan) -> dict[str, np.ndarray]:
    """Expand plans to appointment slots; fills plan.end with the projected discharge date."""
    assessed = np.isin(plan.fate, [NOT_TREATED, TREATED]).astype(np.int64)
    k = plan.n_fail + assessed + plan.treat_slots + plan.trailing_dna
    owner, pos = group_positions(k)
    m = len(owner)
    n_fail = plan.n_fail[owner]
    stage = np.where(pos < n_fail, FAIL, np.where((pos == n_fail) & (assessed[owner] == 1), ASSESS, TREAT))
    t_index = pos - n_fail - 1  # 0 for the first treatment slot
    weekly = np.clip(np.where(plan.high_intensity[owner], rng.normal(8, 1.5, m), rng.normal(11, 3, m)), 3, 21)
    between = np.where(t_index == 0, plan.gap_treat[owner], weekly + np.where(t_index == 1, plan.second_wait[owner], 0.0))
    gap = np.where(pos == 0, plan.gap0[owner], np.where(stage == TREAT, between, rng.uniform(5, 15, m)))
    cs = np.cumsum(gap)
    group_start = (np.cumsum(k) - k)[owner]  # row index of each slot's first slot in its referral
    before = cs[group_start] - gap[group_start]  # cumulative gap before the referral's first slot
    date = plan.received[owner] + days(cs - before)
    # move weekend appointments to Monday
    dow = (date.astype(np.int64) + 3) % 7  # 0 = Monday
    date = date + days(np.where(dow == 5, 2, np.where(dow == 6, 1, 0)))

    n_treat = plan.treat_slots[owner]
    trailing = t_index >= n_treat
    attended = np.where(stage == FAIL, False, np.where(stage == ASSESS, True, rng.random(m) < ATTENDANCE))
    completer = plan.end_nat[owner] == "46"
    last_treat = (stage == TREAT) & (t_index == n_treat - 1)
    attended = np.where(trailing, False, attended)
    attended = np.where(last_treat & completer, True, attended)
    attended = np.where((stage == TREAT) & (t_index == 0), True, attended)  # treatment starts with an attended session

    last_date = np.full(len(k), NAT, dtype="datetime64[D]")
    has = k > 0
    last_date[has] = date[np.cumsum(k)[has] - 1]
    n = len(k)
    after = np.select(
        [plan.fate == NO_CONTACT, plan.fate == NOT_ASSESSED, plan.fate == NOT_TREATED, plan.end_nat == "46"],
        [rng.uniform(*DISCHARGE_LAG["no contact"], n), rng.uniform(*DISCHARGE_LAG["not assessed"], n),
         rng.uniform(*DISCHARGE_LAG["not treated"], n), rng.uniform(*DISCHARGE_LAG["completed"], n)],
        default=rng.uniform(*DISCHARGE_LAG["ended early"], n),
    )
    plan.end = np.where(has, last_date, plan.received) + days(after)
    return {"owner": owner, "stage": stage, "t_index": t_index, "date": date, "attended": attended, "last_treat": last_treat}


def plan_referrals(rng: np.random.Generator, people: People, ctx: Context) -> tuple[Plan, dict[str, np.ndarray]]:
    """1-3 referrals per patient, each after the previous one ended; those after the extract are dropped."""
    n = len(people.patient_id)
    wanted = rng.choice(list(REFERRALS_PER_PATIENT), size=n, p=list(REFERRALS_PER_PATIENT.values()))
    plans: list[Plan] = []
    slots: list[dict[str, np.ndarray]] = []
    patient = np.arange(n)
    received = people.first_referral
    for number in range(1, max(REFERRALS_PER_PATIENT) + 1):
        keep = received <= ctx.dates.extract
        patient, received = patient[keep], received[keep]
        if not len(patient):
            break
        p = _plan(rng, patient, received)
        s = _slots(rng, p)
        plans.append(p)
        slots.append(s)
        more = wanted[p.patient] > number
        patient = p.patient[more]
        received = p.end[more] + days(rng.uniform(14, 240, int(more.sum())))
    return _merge(plans, slots)


def _merge(plans: list[Plan], slots: list[dict[str, np.ndarray]]) -> tuple[Plan, dict[str, np.ndarray]]:
    fields = Plan.__dataclass_fields__
    plan = Plan(**{f: np.concatenate([getattr(p, f) for p in plans]) for f in fields})
    offset = np.cumsum([0] + [len(p.patient) for p in plans[:-1]])
    merged = {k: np.concatenate([s[k] + off if k == "owner" else s[k] for s, off in zip(slots, offset)]) for k in slots[0]}
    return plan, merged
