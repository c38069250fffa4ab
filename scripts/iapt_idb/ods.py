"""The uploading organisation's ODS codes (IDS000 OrgIDProv / OrgIDSubmit): where they come from.

There is no default: a made-up code would put a wrong organisation in the header, and compare a real
provider's file with it. In order: the command's flag (--provider-ods / --submitter-ods), the environment
($IAPT_PROVIDER_ODS / $IAPT_SUBMITTER_ODS), the dbt vars provider_ods_code / submitter_ods_code in
dbt_project.yml. The submitter defaults to the provider. Without a provider code ``iapt-idb build`` refuses
(the header needs it) and validation reports IDS00030/IDS00033 as not checked instead of comparing.
"""

from __future__ import annotations

import os

from .paths import project_vars

ENV_PROVIDER = "IAPT_PROVIDER_ODS"
ENV_SUBMITTER = "IAPT_SUBMITTER_ODS"
HOW_TO_SET = (f"pass --provider-ods CODE, set ${ENV_PROVIDER}, or set the dbt var provider_ods_code in "
              "dbt_project.yml")


def _first(*values: object) -> str | None:
    for v in values:
        text = "" if v is None else str(v).strip()
        if text:
            return text
    return None


def provider_ods(explicit: str | None = None) -> str | None:
    """The configured provider ODS code, or None when none is configured anywhere."""
    return _first(explicit, os.environ.get(ENV_PROVIDER), project_vars().get("provider_ods_code"))


def submitter_ods(explicit: str | None = None, provider: str | None = None) -> str | None:
    """The configured submitting-organisation code; the provider's when none is set of its own."""
    return _first(explicit, os.environ.get(ENV_SUBMITTER), project_vars().get("submitter_ods_code"), provider)


def header_vars(provider: str | None, submitter: str | None = None) -> dict[str, str]:
    """The dbt vars for the codes resolved from ``provider``/``submitter`` (flags) and the configuration;
    empty entries are left out, so dbt keeps the project's (empty) default."""
    prov = provider_ods(provider)
    # an explicit provider flag also stands for the submitter, unless one is given of its own
    sub = submitter_ods(submitter or provider, prov)
    out: dict[str, str] = {}
    if prov:
        out["provider_ods_code"] = prov
    if sub:
        out["submitter_ods_code"] = sub
    return out


def not_checked(provider: str | None) -> list[dict[str, str]]:
    """The rules left unchecked because the uploading organisation is not configured (empty when it is):
    IDS00030 without a provider code, IDS00033 without a submitter code (which defaults to the provider's)."""
    codes = header_vars(provider)
    out = []
    for code, var in (("IDS00030", "provider_ods_code"), ("IDS00033", "submitter_ods_code")):
        if var not in codes:
            out.append({"rule_code": code,
                        "reason": f"no provider ODS code (the uploading organisation) is configured: {HOW_TO_SET}"})
    return out
