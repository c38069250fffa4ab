"""The site's words live in Jinja2 templates (``templates/``); this module renders them.

Pages are HTML templates; the short phrases the Python fills into charts and notes are the macros of
``templates/phrases.txt`` (``phrase("rows_rejected")``), plain text that the page escapes like any value.

Autoescape is on for every template: a value from the data (a rule message, a record key, a code) is
HTML-escaped wherever a template prints it. Python hands templates ready HTML only as ``Markup`` (the SVG
charts), never as a plain string. Missing variables are an error (StrictUndefined), not an empty string.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..periods import parse_period

TEMPLATES = Path(__file__).parent / "templates"
NDASH = Markup("&ndash;")


def num(n: int | None) -> str | Markup:
    """A count with thousands separators; a dash when unknown."""
    return NDASH if n is None else f"{n:,}"


def pct(part: int | None, whole: int | None) -> str | Markup:
    """part as a percentage of whole to one decimal place; a dash when whole is 0 or unknown."""
    return NDASH if not whole else f"{100 * (part or 0) / whole:.1f}%"


def month_name(period: str) -> str:
    """2026-10 -> October 2026."""
    start, _ = parse_period(period)
    return start.strftime("%B %Y")


def rule_slug(rule_code: str) -> str:
    """A file-name-safe form of a rule code: UNPUBLISHED(IDS001-GI-1) -> UNPUBLISHED-IDS001-GI-1."""
    out = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in rule_code)
    return out.strip("-") or "rule"


def rule_href(code: str, root: str = "") -> str:
    """The link to a failing rule's page, from a page whose way back to the site's top folder is root."""
    return f"{root}rules/{rule_slug(code)}.html"


def environment(folder: Path | None = None) -> Environment:
    """The Jinja2 environment of a template folder (TEMPLATES, the package's own, by default)."""
    return _environment(folder or TEMPLATES)


@lru_cache(maxsize=None)
def _environment(folder: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(enabled_extensions=("html", "svg"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=num, month_name=month_name, rule_slug=rule_slug, rule_href=rule_href)
    env.globals.update(pct=pct, rule_href=rule_href)
    return env


def frame(data: Any, active: str, root: str) -> dict[str, Any]:
    """The values base.html needs on every page: data's period and provider (a SiteData), the menu entry
    to highlight (active) and root, the way back to the site's top folder ('' or '../')."""
    return {"period": data.period, "provider": data.provider, "active": active, "root": root}


def render(name: str, folder: Path | None = None, **context: Any) -> str:
    """Render templates/<name> with context (values are escaped by the template unless Markup)."""
    return environment(folder).get_template(name).render(**context)


PHRASES = "phrases.txt"


@lru_cache(maxsize=None)
def _phrases(folder: Path) -> Any:
    """templates/phrases.txt as plain text (no escaping: the page that shows a phrase escapes it)."""
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=False, undefined=StrictUndefined)
    env.filters.update(num=num)
    return env.get_template(PHRASES).module


def phrase(name: str, *args: Any, folder: Path | None = None, **kwargs: Any) -> str:
    """One phrase of templates/phrases.txt (its macro ``name``), as plain text."""
    return str(getattr(_phrases(folder or TEMPLATES), name)(*args, **kwargs))
