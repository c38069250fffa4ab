"""Clinical staff and their qualifications (one table for the whole service, made before patients)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import gen_reference as ref
from .gen_context import days, group_positions, padded_ids
from .gen_codes import CodeSet
from .gen_frame import Coded, Rows

PATIENTS_PER_CLINICIAN = 40
MIN_STAFF = 5
LOW_INTENSITY = ("Psychological Wellbeing Practitioner", "Trainee PWP")
EMPLOYMENT = ("Employment Adviser",)


@dataclass
class Staff:
    rows: dict[str, Rows]
    low_intensity: np.ndarray  # staff indices delivering step 2
    high_intensity: np.ndarray  # step 3 therapists
    employment: np.ndarray  # employment advisers


def staff_count(patients: int) -> int:
    return max(MIN_STAFF, patients // PATIENTS_PER_CLINICIAN)


def staff_ids(idx: np.ndarray) -> np.ndarray:
    return padded_ids("ST", np.asarray(idx) + 1, 5)


def generate_staff(rng: np.random.Generator, n: int, qualification: CodeSet, extract: np.datetime64) -> Staff:
    roles = [r[0] for r in ref.STAFF_ROLES]
    shares = np.array([r[1] for r in ref.STAFF_ROLES])
    role_idx = rng.choice(len(roles), size=n, p=shares / shares.sum())
    # every service has at least one PWP, one step 3 therapist and one employment adviser
    role_idx[: min(n, 3)] = [roles.index(LOW_INTENSITY[0]), roles.index("High Intensity CBT Therapist"), roles.index(EMPLOYMENT[0])][: min(n, 3)]
    role = np.array(roles, dtype=object)[role_idx]
    sid = staff_ids(np.arange(n))

    quals_per = np.array([len(ref.STAFF_ROLES[i][2]) for i in role_idx])
    owner, pos = group_positions(quals_per)
    nat = np.array([ref.STAFF_ROLES[role_idx[o]][2][p] for o, p in zip(owner, pos)], dtype=object)
    local = np.full(len(owner), -1, dtype=np.int32)
    for code in np.unique(nat):
        choices = qualification.locals_for(code)
        if choices:
            local[nat == code] = choices[0]
    missing = local < 0
    local[missing] = qualification.sample(rng, int(missing.sum()))
    trainee = np.array([role[o].startswith("Trainee") for o in owner])
    awarded = extract - days(rng.uniform(200, 6000, len(owner)))
    planned = extract + days(rng.uniform(60, 500, len(owner)))
    qual: Rows = {
        "staff_id": sid[owner],
        "qualification": Coded(local, qualification),
        "awarded_on": np.where(trainee, np.datetime64("NaT"), awarded).astype("datetime64[D]"),
        "planned_completion_on": np.where(trainee, planned, np.datetime64("NaT")).astype("datetime64[D]"),
    }
    li = np.flatnonzero(np.isin(role, LOW_INTENSITY))
    ea = np.flatnonzero(np.isin(role, EMPLOYMENT))
    hi = np.flatnonzero(~np.isin(role, LOW_INTENSITY + EMPLOYMENT))
    fallback = np.arange(n)
    return Staff(
        rows={"staff": {"staff_id": sid, "role": role}, "staff_qualification": qual},
        low_intensity=li if len(li) else fallback,
        high_intensity=hi if len(hi) else fallback,
        employment=ea if len(ea) else fallback,
    )

