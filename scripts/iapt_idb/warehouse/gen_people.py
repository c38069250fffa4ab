"""Person-level tables of the synthetic CMS: patient, addresses, GP registrations, accommodation,
disabilities, social circumstances, overseas visitor status, past diagnoses and care clusters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import gen_reference as ref
from .gen_context import DAY, Context, days, group_positions, padded_ids, weighted
from .gen_frame import Coded, Rows
from ..nhs_number import numbers_or_none

YEAR = 365.25


@dataclass
class People:
    """What the pathway generator needs to know about each patient of a block."""

    patient_id: np.ndarray  # object
    dob: np.ndarray  # datetime64[D]
    age: np.ndarray  # age in years at the period end
    first_referral: np.ndarray  # datetime64[D]
    language: np.ndarray  # national language code (object)
    commissioner: np.ndarray  # object, commissioner of the current GP practice
    staff_team: np.ndarray  # int: the patient's usual clinician (index)


def _patient_ids(g: np.ndarray) -> np.ndarray:
    return padded_ids("LP", g + 1, 8)


def _postcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    outward = np.array(ref.OUTWARD_CODES, dtype=object)[rng.integers(0, len(ref.OUTWARD_CODES), n)]
    letters = np.array(list(ref.INWARD_LETTERS), dtype=object)
    inward = (
        rng.integers(0, 10, n).astype(str).astype(object)
        + letters[rng.integers(0, len(letters), n)]
        + letters[rng.integers(0, len(letters), n)]
    )
    pc = outward + " " + inward
    style = rng.random(n)
    pc = np.where(style < 0.05, np.char.lower(pc.astype(str)).astype(object), pc)  # typed in lower case
    pc = np.where((style >= 0.05) & (style < 0.07), pc + " ", pc)  # trailing space
    return pc


def first_referral_dates(rng: np.random.Generator, n: int, ctx: Context) -> np.ndarray:
    """A patient's first referral: spread over the history window, a little denser recently."""
    d = ctx.dates
    span = (d.extract - d.window_start) / DAY
    return d.window_start + days(span * rng.random(n) ** 0.85)


def generate_people(rng: np.random.Generator, g: np.ndarray, ctx: Context) -> tuple[dict[str, Rows], People]:
    n = len(g)
    c = ctx.codes
    d = ctx.dates
    pid = _patient_ids(g)
    age = 18 + rng.beta(1.9, 3.2, n) * 72
    dob = d.period_end - days(age * YEAR)
    first_ref = first_referral_dates(rng, n, ctx)

    sex = c["sex"].sample(rng, n, {"2": 0.64, "1": 0.345, "9": 0.002, "X": 0.013})
    sex_nat = c["sex"].national_of(sex)
    gi_nat = np.where(sex_nat == "1", "1", np.where(sex_nat == "2", "2", "X")).astype(object)
    other = rng.random(n)
    gi_nat = np.where(other < 0.01, "3", np.where(other < 0.015, "4", np.where(other < 0.03, "Z", np.where(other < 0.045, "X", gi_nat))))
    gi = localize(rng, c["gender_identity"], gi_nat)
    same_nat = weighted(rng, n, {"Y": 0.9, "N": 0.006, "Z": 0.03, "X": 0.064})
    same_nat = np.where(np.isin(gi_nat, ["3", "4"]) & (rng.random(n) < 0.6), "N", same_nat)
    same = localize(rng, c["gender_same_as_birth"], same_nat)

    lang = c["language"].sample(rng, n, {
        "en": 0.92, "pl": 0.015, "ur": 0.012, "pa": 0.008, "bn": 0.005, "gu": 0.004, "ar": 0.006, "so": 0.003,
        "ro": 0.004, "pt": 0.003, "tr": 0.002, "fa": 0.002, "ku": 0.002, "ta": 0.001, "zh": 0.002, "es": 0.002,
        "fr": 0.001, "it": 0.001, "lt": 0.002, "ti": 0.001, "cy": 0.001, "q1": 0.001,
    })
    edu = np.full(n, -1, dtype=np.int32)
    young = age < 25
    student = young & (rng.random(n) < 0.35)
    edu[student] = c["education_setting"].sample(rng, int(student.sum()), {"1": 0.15, "2": 0.35, "3": 0.45, "4": 0.05})
    na = ~student & (rng.random(n) < 0.2)
    edu[na] = c["education_setting"].sample(rng, int(na.sum()), {"8": 0.9, "X": 0.07, "Z": 0.03})

    # No number: 0.6 % of people, and everyone past the test range's ~909,000 distinct valid numbers (a
    # warning, IDS00111, never a rejection). The same draws either way: a smaller warehouse is unchanged.
    nhs = numbers_or_none(g, ctx.nhs_offset, rng.random(n) < 0.006)
    no_number = np.equal(nhs, None)
    status_nat = weighted(rng, n, {"01": 0.95, "02": 0.04, "05": 0.005, "06": 0.005})
    status_nat = np.where(no_number, weighted(rng, n, {"03": 0.5, "04": 0.3, "07": 0.2}), status_nat)

    team = rng.integers(0, ctx.n_staff, n)
    updated = first_ref + days(rng.random(n) * ((d.extract - first_ref) / DAY))
    patient: Rows = {
        "patient_id": pid,
        "nhs_no": nhs,
        "nhs_no_status": localize(rng, c["nhs_no_status"], status_nat),
        "date_of_birth": dob,
        "sex": Coded(sex, c["sex"]),
        "gender_identity": gi,
        "gender_same_as_birth": same,
        "ethnicity": Coded(c["ethnicity"].sample(rng, n, {
            "A": 0.74, "B": 0.01, "C": 0.05, "D": 0.01, "E": 0.005, "F": 0.01, "G": 0.008, "H": 0.025, "J": 0.04,
            "K": 0.008, "L": 0.015, "M": 0.008, "N": 0.02, "P": 0.004, "R": 0.006, "S": 0.015, "Z": 0.02, "99": 0.015,
        }), c["ethnicity"]),
        "preferred_language": Coded(lang, c["language"]),
        "ex_forces": Coded(c["ex_forces"].sample(rng, n, {"02": 0.03, "03": 0.8, "05": 0.01, "UU": 0.1, "ZZ": 0.06}), c["ex_forces"]),
        "education_setting": Coded(edu, c["education_setting"]),
        "registered_at_org": np.where(rng.random(n) < 0.03, ref.PROVIDER_MERGED, ref.PROVIDER).astype(object),
        "updated_at": updated.astype("datetime64[s]") + (rng.integers(8 * 3600, 18 * 3600, n) * np.timedelta64(1, "s")),
    }
    gp, commissioner = _gp_registrations(rng, pid, dob, first_ref, ctx)
    tables = {
        "patient": patient,
        "patient_address": _addresses(rng, pid, dob, first_ref, ctx),
        "gp_registration": gp,
        "accommodation_history": _accommodation(rng, pid, first_ref, ctx),
        "patient_disability": _disabilities(rng, pid, ctx),
        "social_circumstance": _social(rng, pid, first_ref, ctx),
        "overseas_visitor_status": _overseas(rng, pid, first_ref, ctx),
        "past_diagnosis": _past_diagnoses(rng, pid, dob, first_ref, ctx),
        "care_cluster_assignment": _clusters(rng, pid, first_ref, ctx),
    }
    people = People(pid, dob, age, first_ref, c["language"].national_of(lang), commissioner, team)
    return tables, people


def localize(rng: np.random.Generator, codes, national: np.ndarray) -> Coded:
    """National meanings -> local codes (a random local code among those mapping to it)."""
    out = np.full(len(national), -1, dtype=np.int32)
    for nat in np.unique(national[national != None]):  # noqa: E711 - elementwise
        mask = national == nat
        # a seed without this meaning gets any of its valid codes, never a blank or an unmapped code
        choices = codes.locals_for(nat) or list(range(codes.n_valid))
        out[mask] = np.array(choices, dtype=np.int32)[rng.integers(0, len(choices), int(mask.sum()))]
    return Coded(out, codes)


def _addresses(rng, pid, dob, first_ref, ctx: Context) -> Rows:
    n = len(pid)
    k = rng.choice([1, 2, 3], size=n, p=[0.65, 0.25, 0.10])
    owner, pos = group_positions(k)
    first = np.maximum(first_ref - days(rng.uniform(100, 4000, n)), dob + days(16 * YEAR))
    span = (ctx.dates.extract - first) / DAY
    u = rng.random(len(owner))
    start = first[owner] + days(span[owner] * (pos + u * 0.9) / k[owner] * (pos > 0))
    last = pos == k[owner] - 1
    nxt = np.roll(start, -1)
    end = np.where(last, np.datetime64("NaT"), nxt - DAY)
    return {
        "patient_id": pid[owner],
        "postcode": _postcodes(rng, len(owner)),
        "valid_from": start,
        "valid_to": end.astype("datetime64[D]"),
    }


def _gp_registrations(rng, pid, dob, first_ref, ctx: Context) -> tuple[Rows, np.ndarray]:
    n = len(pid)
    k = np.where(rng.random(n) < 0.12, 2, 1)
    owner, pos = group_positions(k)
    practice_idx = rng.integers(0, len(ref.PRACTICES), len(owner))
    codes = np.array([p[0] for p in ref.PRACTICES], dtype=object)[practice_idx]
    comms = np.array([p[1] for p in ref.PRACTICES], dtype=object)[practice_idx]
    first = np.maximum(first_ref - days(rng.uniform(200, 9000, n)), dob + days(rng.uniform(0, 365, n)))
    change = first_ref + days(rng.uniform(-600, 200, n))
    change = np.clip(change, first + 30 * DAY, ctx.dates.extract - DAY)
    start = np.where(pos == 0, first[owner], change[owner])
    end = np.where((pos == 0) & (k[owner] == 2), change[owner] - DAY, np.datetime64("NaT"))
    # a few patients left their practice (moved away) and are not registered anywhere now
    left = (k[owner] == 1) & (rng.random(len(owner)) < 0.01)
    end = np.where(left, np.minimum(ctx.dates.extract - DAY, first_ref[owner] + days(rng.uniform(30, 300, len(owner)))), end)
    current = pos == k[owner] - 1
    commissioner = np.empty(n, dtype=object)
    commissioner[owner[current]] = comms[current]
    rows = {"patient_id": pid[owner], "practice_code": codes, "registered_from": start, "registered_to": end.astype("datetime64[D]")}
    return rows, commissioner


_UNSETTLED = {"09", "10", "11", "12", "13", "14"}


def _accommodation(rng, pid, first_ref, ctx: Context) -> Rows:
    c = ctx.codes
    n = len(pid)
    k = rng.choice([0, 1, 2], size=n, p=[0.15, 0.75, 0.10])
    owner, pos = group_positions(k)
    m = len(owner)
    acc = c["accommodation"].sample(rng, m, {
        "01": 0.30, "02": 0.18, "03": 0.25, "04": 0.12, "05": 0.02, "06": 0.02, "07": 0.01, "08": 0.005, "09": 0.01,
        "10": 0.003, "11": 0.002, "12": 0.005, "13": 0.002, "14": 0.001, "15": 0.03, "98": 0.01,
    })
    nat = c["accommodation"].national_of(acc)
    settled_nat = np.where(np.isin(nat, list(_UNSETTLED)), "N", "Y").astype(object)
    settled_nat = np.where(rng.random(m) < 0.03, weighted(rng, m, {"Z": 0.5, "9": 0.5}), settled_nat)
    recorded = np.minimum(first_ref[owner] + days(rng.uniform(0, 40, m)) + days(pos * rng.uniform(60, 400, m)), ctx.dates.extract)
    started = recorded - days(rng.uniform(30, 3000, m))
    two = k[owner] == 2
    later_start = np.roll(started, -1)
    ended = np.where(two & (pos == 0), np.maximum(later_start - DAY, started + DAY), np.datetime64("NaT"))
    return {
        "patient_id": pid[owner],
        "accommodation": Coded(acc, c["accommodation"]),
        "settled": localize(rng, c["settled_accommodation"], settled_nat),
        "recorded_on": recorded,
        "started_on": started,
        "ended_on": ended.astype("datetime64[D]"),
    }


def _disabilities(rng, pid, ctx: Context) -> Rows:
    cs = ctx.codes["disability"]
    n = len(pid)
    kind = rng.random(n)
    k = np.where(kind < 0.05, 2, np.where(kind < 0.23, 1, 0))
    explicit_none = (k == 0) & (rng.random(n) < 0.35)
    owner, pos = group_positions(np.where(explicit_none, 1, k))
    m = len(owner)
    weights = {"01": 0.15, "02": 0.08, "03": 0.05, "04": 0.12, "05": 0.2, "06": 0.02, "07": 0.03, "08": 0.2, "09": 0.06, "10": 0.02, "XX": 0.07}
    code = cs.sample(rng, m, weights)
    second = pos == 1
    # a second disability must differ from the first
    clash = second & (code == np.roll(code, 1))
    code[clash] = (code[clash] + 1) % cs.n_valid
    none_row = explicit_none[owner]
    code[none_row] = cs.sample(rng, int(none_row.sum()), {"NN": 0.92, "ZZ": 0.08})
    return {"patient_id": pid[owner], "disability": Coded(code, cs)}


def _social(rng, pid, first_ref, ctx: Context) -> Rows:
    groups = ref.load_social_circumstances()
    n = len(pid)
    plan = [("Sexual Orientation", 0.55), ("Religion", 0.45), ("Perinatal", 0.03), ("Addiction - Alcohol", 0.02),
            ("Debt", 0.02), ("Asylum / Refugee", 0.01)]
    pids, codes, dates = [], [], []
    for group, share in plan:
        concepts = groups.get(group)
        if not concepts:
            continue
        has = rng.random(n) < share
        m = int(has.sum())
        w = 1.0 / np.arange(1, len(concepts) + 1) ** 1.3  # a few concepts dominate each group
        pick = rng.choice(len(concepts), size=m, p=w / w.sum())
        pids.append(pid[has])
        codes.append(np.array(concepts, dtype=object)[pick])
        dates.append(np.minimum(first_ref[has] + days(rng.uniform(0, 45, m)), ctx.dates.extract))
    return {"patient_id": np.concatenate(pids), "snomed_code": np.concatenate(codes), "recorded_on": np.concatenate(dates)}


def _overseas(rng, pid, first_ref, ctx: Context) -> Rows:
    cs = ctx.codes["overseas_charging"]
    has = rng.random(len(pid)) < 0.004
    m = int(has.sum())
    return {
        "patient_id": pid[has],
        "charging_category": Coded(cs.sample(rng, m, {"A": 0.3, "B": 0.2, "C": 0.15, "D": 0.1, "E": 0.1, "F": 0.05, "P": 0.05, "9": 0.05}), cs),
        "applies_from": first_ref[has] - days(rng.uniform(0, 700, m)),
    }


def _past_diagnoses(rng, pid, dob, first_ref, ctx: Context) -> Rows:
    cs = ctx.codes["diagnosis_scheme"]
    n = len(pid)
    r = rng.random(n)
    k = np.where(r < 0.05, 2, np.where(r < 0.25, 1, 0))
    owner, _ = group_positions(k)
    m = len(owner)
    probs = np.array([p.weight for p in ref.PROBLEMS])
    pick = rng.choice(len(ref.PROBLEMS), size=m, p=probs / probs.sum())
    icd = np.array([p.icd10 for p in ref.PROBLEMS], dtype=object)[pick]
    sct = np.array([p.snomed for p in ref.PROBLEMS], dtype=object)[pick]
    use_sct = (rng.random(m) < 0.15) & (sct != None)  # noqa: E711
    scheme_nat = np.where(use_sct, "06", "02").astype(object)
    when = np.maximum(first_ref[owner] - days(rng.uniform(180, 3650, m)), dob[owner] + days(14 * YEAR))
    return {
        "patient_id": pid[owner],
        "coding_scheme": localize(rng, cs, scheme_nat),
        "diagnosis_code": np.where(use_sct, sct, icd),
        "diagnosed_on": when,
    }


def _clusters(rng, pid, first_ref, ctx: Context) -> Rows:
    cs = ctx.codes["care_cluster"]
    has = rng.random(len(pid)) < 0.01
    m = int(has.sum())
    start = (first_ref[has] - days(rng.uniform(0, 400, m))).astype("datetime64[s]") + rng.integers(9 * 3600, 17 * 3600, m) * np.timedelta64(1, "s")
    end = start + rng.integers(30, 300, m) * np.timedelta64(86400, "s")
    end = np.where((rng.random(m) < 0.3) | (end > ctx.dates.extract.astype("datetime64[s]")), np.datetime64("NaT", "s"), end)
    return {
        "patient_id": pid[has],
        "cluster": Coded(cs.sample(rng, m, {f"{i:02d}": 1.0 for i in range(1, 9)}), cs),
        "started_at": start,
        "ended_at": end.astype("datetime64[s]"),
    }
