"""Clinical reference values the generator draws from that are not local code sets.

Questionnaire tools and social-circumstance concepts are read from the national reference files in
``reference/spec/codelists`` (never retyped here). Terminology codes for problems, long-term
conditions and procedures, and organisation/site/postcode formats are small illustrative lists:
they only have to look like what a real service records.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..paths import CODELIST_DIR

# --- questionnaires -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    code: str
    description: str
    low: float | None  # numeric range, or None for lettered answers
    high: float | None
    decimal: bool  # score format d.d / d.dd
    letters: tuple[str, ...]  # allowed lettered answers (PEQ yes/no items)


def _parse_tool(row: dict[str, str]) -> Tool:
    notes = row.get("notes") or ""
    m = re.search(r"score range (\d+)-(\d+)", notes)
    letters = re.search(r"allowed values ([A-Z/]+)", notes)
    return Tool(
        code=row["code"].strip(),
        description=row["description"].strip(),
        low=float(m.group(1)) if m else None,
        high=float(m.group(2)) if m else None,
        decimal="d.d" in notes,
        letters=tuple(letters.group(1).split("/")) if letters else (),
    )


@lru_cache(maxsize=None)
def load_tools(path: Path = CODELIST_DIR / "assessment_tools_snomed.csv") -> tuple[Tool, ...]:
    with path.open(newline="", encoding="utf-8") as fh:
        return tuple(_parse_tool(r) for r in csv.DictReader(fh))


def tools_named(fragment: str) -> list[Tool]:
    found = [t for t in load_tools() if fragment.lower() in t.description.lower()]
    if not found:
        raise KeyError(f"no assessment tool matching {fragment!r} in assessment_tools_snomed.csv")
    return found


def tool(fragment: str) -> Tool:
    return tools_named(fragment)[0]


@lru_cache(maxsize=None)
def load_social_circumstances(
    path: Path = CODELIST_DIR / "social_personal_circumstance_snomed_groups.csv",
) -> dict[str, tuple[str, ...]]:
    """Group description -> SNOMED CT concept ids (ids that look truncated are skipped)."""
    groups: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            code = r["code"].strip()
            if code.isdigit() and 6 <= len(code) <= 18:
                groups.setdefault(r["description"].strip(), []).append(code)
    return {k: tuple(v) for k, v in groups.items()}


# --- presenting problems ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    icd10: str
    snomed: str | None
    weight: float
    adsm: str | None  # fragment of the anxiety-disorder-specific measure's description
    depression_led: bool


# ICD-10 codes with a SNOMED CT equivalent where one is commonly used; weights ~ IAPT case mix.
PROBLEMS: tuple[Problem, ...] = (
    Problem("F32.1", "35489007", 0.16, None, True),
    Problem("F32.0", "35489007", 0.06, None, True),
    Problem("F32.2", None, 0.03, None, True),
    Problem("F33.1", None, 0.05, None, True),
    Problem("F41.2", "231504006", 0.20, None, True),
    Problem("F41.1", "21897009", 0.16, "Penn State Worry", False),
    Problem("F41.0", "371631005", 0.05, "Panic Disorder Severity", False),
    Problem("F40.1", "25501002", 0.05, "Social Phobia Inventory", False),
    Problem("F43.1", "47505003", 0.07, "PCL-5", False),
    Problem("F42.2", "191736004", 0.04, "Obsessive Compulsive", False),
    Problem("F45.2", None, 0.03, "Health Anxiety", False),
    Problem("F40.0", "70691001", 0.02, "Mobility Inventory", False),
    Problem("F40.2", "386810004", 0.02, None, False),
    Problem("F43.2", None, 0.06, None, True),
)

# Long-term physical conditions: (ICD-10, SNOMED CT).
LONG_TERM_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("E11.9", "44054006"),  # type 2 diabetes
    ("J44.9", "13645005"),  # COPD
    ("J45.9", "195967001"),  # asthma
    ("I25.9", "53741008"),  # coronary heart disease
    ("K58.9", "10743008"),  # irritable bowel syndrome
    ("M79.7", "203082005"),  # fibromyalgia
    ("I50.9", "84114007"),  # heart failure
    ("M54.5", "279039007"),  # low back pain
    ("G35", "24700007"),  # multiple sclerosis
    ("E10.9", "46635009"),  # type 1 diabetes
)

# Psychological therapy procedures (SNOMED CT) recorded against care activities.
PROCEDURES: tuple[str, ...] = (
    "304891004",  # cognitive behavioural therapy
    "228557008",  # cognitive and behavioural therapy
    "1098051000000103",  # guided self-help
    "443730003",  # behavioural activation
    "405780009",  # counselling
    "1026111000000108",  # interpersonal psychotherapy
    "718026005",  # eye movement desensitisation and reprocessing
    "225337009",  # psychoeducation
)

OBSERVATIONS: tuple[tuple[str, str, float, float, str], ...] = (
    # SNOMED CT observable, unit, low, high, format
    ("27113001", "kg", 48.0, 130.0, "{:.1f}"),  # body weight
    ("60621009", "kg/m2", 17.0, 42.0, "{:.1f}"),  # body mass index
    ("364075005", "/min", 52.0, 105.0, "{:.0f}"),  # heart rate
)

DIGITAL_PROGRAMMES: tuple[str, ...] = (
    "SilverCloud", "Space from Anxiety", "Beating the Blues", "Minddistrict", "OCD-NET",
    "iCT-SAD", "Sleepio", "Daylight", "Wysa",
)

STAFF_ROLES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    # role, share, national qualification codes the role typically holds
    ("Psychological Wellbeing Practitioner", 0.34, ("11",)),
    ("Trainee PWP", 0.08, ("10",)),
    ("High Intensity CBT Therapist", 0.24, ("13",)),
    ("Trainee CBT Therapist", 0.06, ("12",)),
    ("Counsellor for Depression", 0.10, ("14",)),
    ("IPT Therapist", 0.05, ("15", "13")),
    ("DIT Practitioner", 0.03, ("16", "14")),
    ("Couple Therapist", 0.03, ("17",)),
    ("Employment Adviser", 0.05, ("30",)),
    ("Clinical Psychologist", 0.02, ("31", "13")),
)

# Organisations (format-valid ODS-style codes of an imaginary local health economy).
PROVIDER = "RZZ"
PROVIDER_MERGED = "RZY"  # a predecessor trust whose local patient ids were inherited
COMMISSIONERS: tuple[str, ...] = ("15F", "36J", "02T", "03R", "X2C4Y")
PRACTICES: tuple[tuple[str, str], ...] = tuple(
    (f"{prefix}{n:03d}", comm)
    for prefix, comm, count in (("B86", "15F", 40), ("B83", "36J", 22), ("B87", "03R", 14), ("B82", "X2C4Y", 12), ("B85", "02T", 10))
    for n in range(1, count + 1)
)
SITES: tuple[str, ...] = tuple(f"{PROVIDER}{n:02d}" for n in range(1, 9))
RECEIVING_ORGS: tuple[str, ...] = ("RXF", "RGD", "RCF", "RXG", "NQL", "DD8", "AD4")
OUTWARD_CODES: tuple[str, ...] = (
    "LS1", "LS2", "LS6", "LS7", "LS8", "LS9", "LS11", "LS12", "LS14", "LS15", "LS17", "LS25", "LS28",
    "BD1", "BD3", "BD5", "BD7", "BD9", "BD10", "BD18", "WF1", "WF3", "WF10", "WF17", "HX1", "HX3",
    "HD1", "HD2", "HD8", "YO1", "YO24", "S10", "S11", "M14", "M20",
)
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in the inward part of a postcode
