"""Questionnaire scores: PHQ-9 and GAD-7 at every scored appointment, the anxiety-disorder-specific
measure of the presenting problem, WSAS items at assessment and at the end, PEQ items, and a few
referral-level scores completed online before the first appointment (no intervention).

Each referral has a baseline severity and a share of it that is gone by the planned end of
treatment; the share who respond depends on the presenting problem (``RESPONSE``), which gives
recovery rates near the national ~50% among finished courses (reference/calibration_targets.csv, as the
dbt measure models derive them). The anxiety-disorder-specific measures with a caseness threshold
(seeds/measures/assessment_thresholds.csv) follow the GAD-7 trajectory relative to caseness, in reliable
change indices, so recovery by problem descriptor stays in the national 40-60 % range.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..paths import SEEDS_DIR
from . import gen_reference as ref
from .gen_context import Context, days
from .gen_frame import Ids, Rows
from .gen_plan import ASSESS, TREAT, Plan

# Share of referrals whose symptoms respond to treatment, by ICD-10 presenting problem, and the shift
# of the baseline PHQ-9: recovery is lower for depression and PTSD than for most anxiety disorders
# (NHS Talking Therapies annual reports, recovery by problem descriptor; Clark et al. 2018, Lancet).
RESPONSE = {"F32.0": 0.7, "F32.1": 0.62, "F32.2": 0.52, "F33.1": 0.57, "F41.2": 0.62, "F41.1": 0.82, "F41.0": 0.78,
            "F40.1": 0.62, "F43.1": 0.6, "F42.2": 0.66, "F45.2": 0.72, "F40.0": 0.74, "F40.2": 0.8, "F43.2": 0.66}
SEVERITY_SHIFT = {"F32.0": -3.0, "F32.2": 4.0, "F33.1": 1.5, "F43.1": 1.5}
CASENESS_SHARE, BASELINE_PHQ9 = 0.90, 15.8  # at caseness at the start; their mean baseline PHQ-9
# a course that ends early stops this many sessions short of the improvement it would have reached
UNFINISHED_SESSIONS = 3

# caseness threshold and reliable change index of each anxiety-disorder-specific measure, as the dbt
# measures read them (part of the generator's fingerprint)
THRESHOLDS_CSV = SEEDS_DIR / "measures" / "assessment_thresholds.csv"
GAD7_CASENESS, GAD7_RCI = 8.0, 4.0
ADSM_NOISE = 0.35  # the ADSM's own noise, in reliable change indices (GAD-7's 1.4 points is 0.35)

_INT_TEXT = np.array([str(i) for i in range(1001)], dtype=object)  # scores are whole numbers 0-500


def _fmt(tool: ref.Tool, value: np.ndarray) -> np.ndarray:
    """Scores as text in the tool's format: whole numbers, or one decimal place (d.d)."""
    if tool.decimal:
        return np.char.mod("%.1f", np.round(value, 1)).astype(object)
    return _INT_TEXT[np.round(value).astype(np.int64)]


def _scaled(tool: ref.Tool, severity: np.ndarray, rng, noise: float = 0.06) -> np.ndarray:
    s = np.clip(severity + rng.normal(0, noise, len(severity)), 0, 1)
    v = tool.low + (tool.high - tool.low) * s
    return np.clip(v if tool.decimal else np.round(v), tool.low, tool.high)


@lru_cache(maxsize=None)
def adsm_thresholds(path: Path = THRESHOLDS_CSV) -> dict[str, tuple[float, float]]:
    """Tool SNOMED code -> (caseness threshold, reliable change index)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["tool_code"]: (float(r["caseness_threshold"]), float(r["reliable_change"])) for r in csv.DictReader(fh)}


def _anchored(tool: ref.Tool, gad_latent: np.ndarray, rng) -> np.ndarray:
    """An anxiety-disorder-specific score that follows the GAD-7 trajectory relative to caseness: at the
    tool's threshold where GAD-7 is at its own, and above it the same number of reliable change indices
    (below it, linear down to the tool's floor). One normal draw per score, like ``_scaled``."""
    threshold, rci = adsm_thresholds()[tool.code]
    z = (gad_latent - GAD7_CASENESS) / GAD7_RCI + rng.normal(0, ADSM_NOISE, len(gad_latent))
    floor_z = -GAD7_CASENESS / GAD7_RCI  # GAD-7 of 0
    v = np.where(z >= 0, threshold + z * rci, threshold + (tool.low - threshold) * np.minimum(z / floor_z, 1))
    return np.clip(v if tool.decimal else np.round(v), tool.low, tool.high)


def score_rows(rng, plan: Plan, info, first_iv, primary, ref_num, ctx: Context) -> Rows:
    n_ref = len(plan.patient)
    phq, gad = ref.tool("PHQ-9"), ref.tool("GAD-7")
    wsas = ref.tools_named("Work and Social Adjustment")
    peq_t = ref.tools_named("Treatment Patient Experience")
    peq_a = ref.tools_named("Assessment Patient Experience")

    # trajectories: baseline severity and how much of it is gone by the planned end
    shift = np.array([SEVERITY_SHIFT.get(p.icd10, 0.0) for p in ref.PROBLEMS])[plan.problem]
    response = np.array([RESPONSE.get(p.icd10, 0.6) for p in ref.PROBLEMS])[plan.problem]
    # 9 in 10 at caseness at the start; a baseline PHQ-9 of about 15.8 (moderately severe) puts the expected
    # recovery, reliable improvement and reliable recovery of the dbt measures at the national figures
    # (docs/decisions.md). Only values are tuned here, never the number of draws: every table drawn after
    # the scores, and so every injected defect, stays as it was.
    case = rng.random(n_ref) < CASENESS_SHARE
    base_p = np.where(case, np.clip(rng.normal(BASELINE_PHQ9, 4.5, n_ref) + shift, 10, 27), rng.uniform(2, 9.5, n_ref))
    base_g = np.where(case, np.clip(base_p * 0.75 + rng.normal(2.5, 3, n_ref), 8, 21), rng.uniform(1, 7.5, n_ref))
    responder = rng.random(n_ref) < response
    gain = np.where(responder, rng.uniform(0.5, 0.95, n_ref), rng.uniform(-0.2, 0.26, n_ref))

    scored = np.flatnonzero(info["attended"] & (first_iv >= 0) & ~info["ea_slot"])
    owner = info["owner"][scored]
    planned = np.maximum(plan.treat_slots[owner] + (plan.end_nat[owner] != "46") * UNFINISHED_SESSIONS - 1, 1)
    t = np.where(info["stage"][scored] == TREAT, np.clip((info["t_index"][scored] + 1) / planned, 0, 1), 0.0)
    t = np.where(info["follow"][scored], 1.0, t)
    p_val = np.clip(np.round(base_p[owner] * (1 - gain[owner] * t) + rng.normal(0, 1.6, len(t))), 0, 27)
    g_latent = base_g[owner] * (1 - gain[owner] * t)
    g_val = np.clip(np.round(g_latent + rng.normal(0, 1.4, len(t))), 0, 21)
    severity = np.clip((p_val / 27 + g_val / 21) / 2, 0, 1)
    when = info["starts"][scored] + rng.integers(0, 10, len(scored)) * np.timedelta64(60, "s")
    iv = first_iv[scored]

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # owner, iv, tool, score, when

    def add(mask: np.ndarray, tool_code: str, text: np.ndarray) -> None:
        parts.append((owner[mask], iv[mask], np.full(int(mask.sum()), tool_code, dtype=object), text[mask], when[mask]))

    everyone = np.ones(len(scored), dtype=bool)
    add(everyone, phq.code, _fmt(phq, p_val))
    add(everyone, gad.code, _fmt(gad, g_val))
    adsm_frag = np.array([p.adsm for p in ref.PROBLEMS], dtype=object)[primary[owner]]
    for frag in dict.fromkeys(p.adsm for p in ref.PROBLEMS if p.adsm):  # ordered: no set (hash order varies)
        tool = ref.tool(frag)
        mask = (adsm_frag == frag) & (rng.random(len(scored)) < 0.75)
        value = _anchored(tool, g_latent, rng) if tool.code in adsm_thresholds() else _scaled(tool, severity, rng)
        add(mask, tool.code, _fmt(tool, value))
    at_assess = info["stage"][scored] == ASSESS
    at_end = info["last_treat"][scored]
    wsas_mask = at_assess | at_end
    for tool in wsas:
        add(wsas_mask, tool.code, _fmt(tool, _scaled(tool, severity * 0.9, rng, 0.12)))
    peq_after_assess = at_assess & (rng.random(len(scored)) < 0.25)
    for tool in peq_a:
        if tool.letters:
            text = np.where(rng.random(len(scored)) < 0.9, "Y", tool.letters[0]).astype(object)
        else:
            text = _fmt(tool, np.clip(np.round(rng.normal(3.4, 0.7, len(scored))), tool.low, tool.high))
        add(peq_after_assess, tool.code, text)
    peq_end = at_end & (plan.end_nat[owner] == "46") & (rng.random(len(scored)) < 0.45)
    for tool in peq_t:
        add(peq_end, tool.code, _fmt(tool, np.clip(np.round(rng.normal(3.3, 0.8, len(scored))), tool.low, tool.high)))

    # referral-level scores (no appointment): questionnaires filled in online before assessment
    online = np.flatnonzero(rng.random(n_ref) < 0.12)
    o_when = (plan.received[online] + days(rng.uniform(0, 1, len(online)) * np.minimum(plan.gap0[online], 14))).astype("datetime64[s]")
    o_when = o_when + rng.integers(7 * 3600, 22 * 3600, len(online)) * np.timedelta64(1, "s")
    ok = o_when <= ctx.dates.extract.astype("datetime64[s]")
    online, o_when = online[ok], o_when[ok]
    no_iv = np.full(len(online), -1, dtype=np.int64)
    o_p = np.clip(np.round(base_p[online] + rng.normal(0.5, 1.5, len(online))), 0, 27)
    o_g = np.clip(np.round(base_g[online] + rng.normal(0.5, 1.5, len(online))), 0, 21)
    parts.append((online, no_iv, np.full(len(online), phq.code, dtype=object), _fmt(phq, o_p), o_when))
    parts.append((online, no_iv, np.full(len(online), gad.code, dtype=object), _fmt(gad, o_g), o_when))

    s_owner = np.concatenate([p[0] for p in parts])
    rows: Rows = {
        "score_id": ctx.counters.take("questionnaire_score", len(s_owner)),
        "referral_id": Ids(ref_num[s_owner], "RF", 10),
        "intervention_id": Ids(np.concatenate([p[1] for p in parts]), "IV", 12),
        "tool_snomed": np.concatenate([p[2] for p in parts]),
        "score": np.concatenate([p[3] for p in parts]),
        "completed_at": np.concatenate([p[4] for p in parts]).astype("datetime64[s]"),
    }
    return rows
