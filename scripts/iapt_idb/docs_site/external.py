"""The two documentation sets the site links to: dbt docs (one static file) and GX Data Docs.

Both are copied into the site so it works offline. dbt's static page is self-contained. Great
Expectations' Data Docs load Bootstrap, jQuery, Font Awesome, Vega and a logo from the internet; the
copy drops every remote resource (and the scripts that need them) and adds a small local style sheet,
so the pages open without a network and without script errors. Their content is static HTML.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..dbt_runner import run_dbt
from ..paths import ROOT
from .render import render

GX_CSS = """
body { font-family: Arial, Helvetica, sans-serif; color:#212b32; margin:0; padding:16px 24px; line-height:1.45; }
a { color:#005eb8; } table { border-collapse:collapse; margin:8px 0; } th, td { border:1px solid #d8dde0; padding:4px 8px; text-align:left; vertical-align:top; }
th { background:#f0f4f5; } .card { border:1px solid #d8dde0; margin:10px 0; padding:8px 12px; } nav, .navbar { margin-bottom:12px; }
.offline-note { background:#f0f4f5; border-left:5px solid #768692; padding:8px 12px; margin-bottom:12px; font-size:14px; }
img { max-width:100%; } .hide, .d-none { display:none; }
"""
_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I | re.S)
_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>.*?</script>", re.I | re.S)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I | re.S)
_REMOTE_MEDIA = re.compile(r"<(img|iframe|source|embed)\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I | re.S)
_ICON_LINK = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"'][^\"']*icon[^\"']*[\"'][^>]*>", re.I | re.S)
_REMOTE_IMPORT = re.compile(r"@import\s+url\(\s*[\"']?(?:https?:)?//[^)]*\)\s*;?", re.I)
_HEAD_END = re.compile(r"</head>", re.I)
_BODY_START = re.compile(r"<body\b[^>]*>", re.I)


def dbt_target_dir() -> Path:
    """dbt's target folder: DBT_TARGET_PATH when set (relative to the project), else <project>/target."""
    env = os.environ.get("DBT_TARGET_PATH")
    path = Path(env) if env else ROOT / "target"
    return path if path.is_absolute() else ROOT / path


def generate_dbt_docs(period: str, target_db: Path, warehouse: Path | None = None) -> Path:
    """Run `dbt docs generate --static` for the period; returns the single-file docs page.

    warehouse: the local warehouse dbt attaches (default: $IAPT_WAREHOUSE_PATH, else the profile's)."""
    run_dbt(["docs", "generate", "--static"], vars={"period": period}, warehouse=warehouse, target_db=target_db, quiet=True)
    path = dbt_target_dir() / "static_index.html"
    if not path.exists():
        raise RuntimeError(f"dbt docs generate --static did not write {path}")
    return path


# dbt 1.11's page names its icon with an unexpanded template, which browsers fail to load. (Its menu
# icons also bind an SVG href before Angular fills it in, one harmless failed request per icon; the
# icons themselves then show, so that is left as dbt wrote it.)
_DBT_FIXES: tuple[tuple[str, str], ...] = (("href=\"${require('./assets/favicons/favicon.ico')}\"", 'href="../favicon.ico"'),)


def copy_dbt_docs(static_index: Path, dest: Path) -> None:
    """Copy the static docs page (it is self-contained), with its icon link corrected."""
    dest.mkdir(parents=True, exist_ok=True)
    text = static_index.read_text(encoding="utf-8")
    for old, new in _DBT_FIXES:
        text = text.replace(old, new)
    (dest / "index.html").write_text(text, encoding="utf-8")


def _offline_html(text: str, css_href: str) -> str:
    text = _REMOTE_SCRIPT.sub("", text)
    text = _INLINE_SCRIPT.sub("", text)
    text = _REMOTE_LINK.sub("", text)
    text = _REMOTE_MEDIA.sub("", text)
    text = _REMOTE_IMPORT.sub("", text)
    site_root = css_href.replace("gx-offline.css", "../")
    text = _ICON_LINK.sub("", text)  # GX points some pages at an icon path that does not exist
    link = f'<link rel="stylesheet" href="{css_href}"><link rel="icon" href="{site_root}favicon.ico">'
    text = _HEAD_END.sub(lambda m: link + m.group(0), text, count=1) if _HEAD_END.search(text) else link + text
    note = render("gx_offline_note.html", site_root=site_root).rstrip("\n")
    return _BODY_START.sub(lambda m: m.group(0) + note, text, count=1)


def copy_gx_docs(source: Path, dest: Path) -> int:
    """Copy GX Data Docs made safe for offline use; returns the number of HTML pages."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
    (dest / "gx-offline.css").write_text(GX_CSS, encoding="utf-8")
    pages = 0
    for path in sorted(dest.rglob("*")):
        if path.suffix.lower() == ".css" and path.name != "gx-offline.css":
            path.write_text(_REMOTE_IMPORT.sub("", path.read_text(encoding="utf-8", errors="replace")), encoding="utf-8")
        if path.suffix.lower() not in (".html", ".htm"):
            continue
        depth = len(path.relative_to(dest).parts) - 1
        css = "../" * depth + "gx-offline.css"
        path.write_text(_offline_html(path.read_text(encoding="utf-8", errors="replace"), css), encoding="utf-8")
        pages += 1
    return pages
