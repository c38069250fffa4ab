"""Realistic data-quality defects, injected into a block's rows and logged in ``cms.generator_defects``.

About ``rate`` of the eligible rows of each table are spoiled (rows relevant to the reporting
period some thirty times more often than history, so the month's file shows them). Each spoiled row gets
one defect kind; the log names the table, the row's key, the column and the kind, and a detail
that never contains a patient identifier or a birth date. The caller passes a dedicated random
stream, so the clean data are the same whatever the defect rate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import schema
from .gen_context import DAY, Context, days
from .gen_frame import Coded, Ids, Rows, concat, n_rows, take
from ..nhs_number import spoil

OUT_OF_PERIOD_FACTOR = 0.03
ORPHAN_BASE = 8_000_000_000  # referral numbers never reach this, so such a referral does not exist
LONG_ID_SUFFIX = "-RZY-LEGACY-00"  # a merged system's suffix: 10 + 15 = 25 characters

# table -> [(defect kind, column, weight)]
PLAN: dict[str, list[tuple[str, str | None, float]]] = {
    "patient": [("invalid_nhs_number", "nhs_no", 3), ("future_birth_date", "date_of_birth", 1),
                ("missing_mandatory", "date_of_birth", 1), ("unmapped_code", "ethnicity", 1)],
    "patient_address": [("bad_postcode", "postcode", 2), ("over_long_text", "postcode", 1),
                        ("dates_out_of_order", "valid_to", 1)],
    "gp_registration": [("missing_mandatory", "practice_code", 1), ("dates_out_of_order", "registered_to", 1),
                        ("duplicate_row", None, 1)],
    "accommodation_history": [("unmapped_code", "accommodation", 1), ("missing_mandatory", "recorded_on", 1)],
    "employment_history": [("missing_mandatory", "recorded_on", 1), ("unmapped_code", "status", 1)],
    "patient_disability": [("duplicate_row", None, 2), ("unmapped_code", "disability", 1),
                           ("over_long_text", "patient_id", 1)],
    "social_circumstance": [("over_long_text", "patient_id", 1)],
    "referral": [("missing_mandatory", "received_on", 1), ("dates_out_of_order", "discharged_on", 2),
                 ("unmapped_code", "referral_source", 1), ("bad_onset_format", "problem_onset", 2)],
    "waiting_pause": [("dates_out_of_order", "paused_to", 1)],
    "appointment": [("missing_mandatory", "appointment_type", 2), ("unmapped_code", "outcome", 1),
                    ("unmapped_code", "contact_method", 1), ("orphan_row", "referral_id", 1)],
    "appointment_intervention": [("missing_mandatory", "staff_id", 1)],
    "presenting_problem": [("duplicate_row", None, 1)],
}

START_OF = {"valid_to": "valid_from", "registered_to": "registered_from", "discharged_on": "received_on",
            "paused_to": "paused_from"}


def _period_masks(tables: dict[str, Rows], ctx: Context) -> dict[str, np.ndarray]:
    d = ctx.dates
    ref = tables["referral"]
    open_in = (ref["received_on"] <= d.period_end) & (np.isnat(ref["discharged_on"]) | (ref["discharged_on"] >= d.period_start))
    ref_nums = ref["referral_id"].num[open_in]
    pids = np.unique(ref["patient_id"][open_in].astype(str))
    appt = tables["appointment"]
    day = appt["starts_at"].astype("datetime64[D]")
    appt_in = (day >= d.period_start) & (day <= d.period_end)
    out: dict[str, np.ndarray] = {"referral": open_in, "appointment": appt_in}
    appt_nums = appt["appointment_id"].num[appt_in]
    for name, rows in tables.items():
        if name in out or not rows or not n_rows(rows):
            continue
        if "patient_id" in rows:
            out[name] = np.isin(rows["patient_id"].astype(str), pids)
        elif name == "appointment_intervention":
            out[name] = np.isin(rows["appointment_id"].num, appt_nums)
        elif "referral_id" in rows:
            out[name] = np.isin(rows["referral_id"].num, ref_nums)
    return out


def _key_text(rows: Rows, key: str, idx: np.ndarray) -> np.ndarray:
    col = rows[key]
    if isinstance(col, Ids):
        return np.array([col.text(int(v)) for v in col.num[idx]], dtype=object)
    return np.asarray(col[idx]).astype(str).astype(object)


Applier = Callable[[np.random.Generator, Rows, str, np.ndarray, Context], tuple[np.ndarray, list[str]]]


def _unmapped(rng, rows, col, idx, ctx):
    c: Coded = rows[col]
    k = rng.integers(0, len(c.codes.unmapped), len(idx))
    c.idx[idx] = c.codes.n_valid + k
    return idx, [f"local code {c.codes.unmapped[j]} is not in map_{c.codes.name}.csv" for j in k]


def _missing(rng, rows, col, idx, ctx):
    v = rows[col]
    if isinstance(v, Coded):
        ok = idx[v.idx[idx] >= 0]
        v.idx[ok] = -1
    elif v.dtype == object:
        ok = idx[v[idx] != None]  # noqa: E711
        v[ok] = None
    else:
        ok = idx[~np.isnat(v[idx])]
        v[ok] = np.datetime64("NaT")
    return ok, [f"{col} left blank"] * len(ok)


def _invalid_nhs(rng, rows, col, idx, ctx):
    v = rows[col]
    ok = idx[v[idx] != None]  # noqa: E711
    how = rng.integers(0, 3, len(ok))
    v[ok] = [spoil(v[i], int(h)) for i, h in zip(ok, how)]
    text = ("check digit wrong", "nine digits", "eleven digits")
    return ok, [f"NHS number {text[h]}" for h in how]


def _future_birth(rng, rows, col, idx, ctx):
    rows[col][idx] = ctx.dates.period_end + days(rng.uniform(1, 400, len(idx)))
    return idx, ["birth date after the reporting period end"] * len(idx)


def _dates(rng, rows, col, idx, ctx):
    start = rows[START_OF[col]]
    ok = idx[~np.isnat(start[idx])]
    if col == "discharged_on":  # only referrals that really were discharged
        ok = ok[~np.isnat(rows[col][ok])]
    gap = rng.integers(1, 60, len(ok))
    rows[col][ok] = start[ok] - gap * DAY
    return ok, [f"{col} {g} days before {START_OF[col]}" for g in gap]


def _bad_postcode(rng, rows, col, idx, ctx):
    v = rows[col]
    v[idx] = [str(x).strip().upper().replace(" ", "") for x in v[idx]]
    return idx, ["postcode without the space between outward and inward code"] * len(idx)


def _over_long(rng, rows, col, idx, ctx):
    v = rows[col]
    if col == "postcode":
        v[idx] = [(str(x).strip().upper() + "XXX")[:9].ljust(9, "X") for x in v[idx]]
        return idx, ["postcode of 9 characters (max 8)"] * len(idx)
    v[idx] = [str(x) + LONG_ID_SUFFIX for x in v[idx]]
    return idx, [f"{col} of {len(str(x))} characters (max 20)" for x in v[idx]]


def _bad_onset(rng, rows, col, idx, ctx):
    v = rows[col]
    month = rng.integers(0, 2, len(idx))
    v[idx] = [f"{str(x)[:4]}/{'13' if m else str(x)[5:7]}" for x, m in zip(v[idx], month)]
    return idx, ["onset month typed as YYYY/MM" + (" with month 13" if m else "") for m in month]


def _orphan(rng, rows, col, idx, ctx):
    rows[col].num[idx] = ORPHAN_BASE + rows["appointment_id"].num[idx] % 1_000_000_000
    return idx, ["appointment refers to a referral that does not exist"] * len(idx)


APPLIERS: dict[str, Applier] = {
    "unmapped_code": _unmapped, "missing_mandatory": _missing, "invalid_nhs_number": _invalid_nhs,
    "future_birth_date": _future_birth, "dates_out_of_order": _dates, "bad_postcode": _bad_postcode,
    "over_long_text": _over_long, "bad_onset_format": _bad_onset, "orphan_row": _orphan,
}


def inject(rng: np.random.Generator, tables: dict[str, Rows], ctx: Context, rate: float) -> Rows:
    """Spoil rows in place (duplicates are appended); returns the defect log rows."""
    log = {"table_name": [], "record_key": [], "column_name": [], "defect_kind": [], "detail": []}
    if rate <= 0:
        return {k: np.array(v, dtype=object) for k, v in log.items()}
    masks = _period_masks(tables, ctx)
    for name, kinds in PLAN.items():
        rows = tables.get(name)
        if not rows or not n_rows(rows):
            continue
        n = n_rows(rows)
        key = schema.table(name).key[0]
        p = np.where(masks.get(name, np.ones(n, dtype=bool)), rate, rate * OUT_OF_PERIOD_FACTOR)
        chosen = np.flatnonzero(rng.random(n) < p)
        weights = np.array([w for _, _, w in kinds], dtype=float)
        kind_of = rng.choice(len(kinds), size=len(chosen), p=weights / weights.sum())
        duplicates: list[np.ndarray] = []
        for k, (kind, col, _) in enumerate(kinds):
            idx = chosen[kind_of == k]
            if not len(idx):
                continue
            if kind == "duplicate_row":
                duplicates.append(idx)
                continue
            ok, details = APPLIERS[kind](rng, rows, col, idx, ctx)
            _log(log, name, _key_text(rows, key, ok), col, kind, details)
        for idx in duplicates:
            copy = take(rows, idx)
            original = _key_text(rows, key, idx)
            copy[key] = ctx.counters.take(name, len(idx))
            rows = concat([rows, copy])
            _log(log, name, copy[key].astype(str).astype(object), None, "duplicate_row",
                 [f"same as {name} {o} apart from the key" for o in original])
        tables[name] = rows
    return {k: np.array(v, dtype=object) for k, v in log.items()}


def _log(log: dict[str, list], table: str, keys: np.ndarray, col: str | None, kind: str, details: list[str]) -> None:
    log["table_name"] += [table] * len(keys)
    log["record_key"] += list(keys)
    log["column_name"] += [col] * len(keys)
    log["defect_kind"] += [kind] * len(keys)
    log["detail"] += list(details)
