"""The site's style sheet and small HTML helpers for pages still assembled in Python (the frame itself and
the badges' words are in templates/base.html and templates/_badges.html)."""

from __future__ import annotations

from html import escape
from typing import Any, Iterable, Sequence

from markupsafe import Markup

from .render import environment, render, rule_slug

__all__ = [
    "CSS", "e", "facts", "favicon", "inferred_badge", "num", "page", "pct", "published_badge", "rule_slug",
    "severity_badge", "severity_text", "table",
]

CSS = """
:root { --blue:#005eb8; --dark:#003087; --text:#212b32; --muted:#4c6272; --line:#d8dde0; --pale:#f0f4f5;
        --red:#d5281b; --green:#007f3b; --orange:#ed8b00; --yellow:#ffeb3b; }
* { box-sizing: border-box; }
body { margin:0; font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; font-size:16px; line-height:1.5;
       color:var(--text); background:#fff; }
a { color:var(--blue); } a:visited { color:#330072; } a:focus { outline:3px solid var(--yellow); }
header.site { background:var(--blue); color:#fff; padding:14px 24px 0; }
header.site .brand { font-size:20px; font-weight:bold; }
header.site .sub { font-size:14px; opacity:.9; }
nav.site { display:flex; flex-wrap:wrap; gap:2px; margin-top:10px; }
nav.site a { color:#fff; text-decoration:none; padding:8px 14px; border-radius:4px 4px 0 0; font-weight:bold; }
nav.site a:hover { background:var(--dark); }
nav.site a.active { background:#fff; color:var(--blue); }
main { max-width:1320px; margin:0 auto; padding:20px 24px 48px; }
h1 { font-size:30px; margin:8px 0 12px; } h2 { font-size:23px; margin:32px 0 8px; border-bottom:2px solid var(--line); }
h3 { font-size:19px; margin:22px 0 6px; }
p.lead { font-size:18px; }
.muted { color:var(--muted); } .small { font-size:14px; }
.verdict { border-left:10px solid var(--green); background:#e6f2eb; padding:14px 20px; margin:12px 0 18px; }
.verdict.rejected { border-color:var(--red); background:#fbe9e7; }
.verdict h2 { border:0; margin:0 0 6px; font-size:24px; }
.cards { display:flex; flex-wrap:wrap; gap:14px; margin:12px 0; }
.card { flex:1 1 170px; border:1px solid var(--line); border-top:5px solid var(--blue); padding:10px 14px; background:#fff; }
.card .n { font-size:28px; font-weight:bold; display:block; } .card .t { color:var(--muted); font-size:14px; }
table.data { border-collapse:collapse; width:100%; margin:8px 0 16px; font-size:15px; }
table.data th, table.data td { border-bottom:1px solid var(--line); padding:6px 8px; text-align:left; vertical-align:top; }
table.data th { background:var(--pale); }
table.facts th { width:230px; } table.ranked td:nth-child(2) { min-width:150px; }
table.data td { overflow-wrap:anywhere; } table.data td code { overflow-wrap:normal; word-break:normal; }
table.checklist td:first-child { min-width:200px; overflow-wrap:normal; }
table.checklist td:first-child .small { font-size:12px; } table.checklist td:last-child { min-width:170px; }
.nowrap { white-space:nowrap; }
abbr[title] { text-decoration:underline dotted; cursor:help; } .scroll { overflow-x:auto; }
table.data td.num, table.data th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.data tr:hover td { background:#fafbfb; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:13px; font-weight:bold; white-space:nowrap; }
.sev-file_reject { background:var(--red); color:#fff; } .sev-group_reject { background:#8a1538; color:#fff; }
.sev-record_reject { background:var(--orange); color:#212b32; } .sev-warning { background:#ffb81c; color:#212b32; }
.st-mapped { background:#e6f2eb; color:var(--green); } .st-partly { background:#fff4e0; color:#8a4b00; }
.st-not { background:#fbe9e7; color:var(--red); } .st-unknown { background:var(--pale); color:var(--muted); }
.unpublished { background:#330072; color:#fff; }
.chart { max-width:100%; height:auto; display:block; margin:6px 0 14px; }
.chart .grid { stroke:#e8edee; } .chart .tick { font-size:12px; fill:var(--muted); }
.chart .label { font-size:13px; fill:var(--text); } .chart .value { font-size:12px; fill:var(--text); font-weight:bold; }
.chart a .label { fill:var(--blue); text-decoration:underline; }
.legend { display:flex; flex-wrap:wrap; gap:14px; font-size:14px; margin:6px 0; }
.legend span::before { content:""; display:inline-block; width:12px; height:12px; margin-right:5px; vertical-align:-1px;
                       background:var(--c); }
.note { background:var(--pale); border-left:5px solid var(--muted); padding:10px 16px; margin:12px 0; }
.pager { margin:12px 0; } .pager a, .pager strong { margin-right:8px; }
code { background:var(--pale); padding:0 4px; border-radius:3px; font-size:90%; }
footer.site { border-top:1px solid var(--line); color:var(--muted); font-size:13px; padding:14px 24px; max-width:1320px;
              margin:0 auto; }
ul.toc { columns:3; font-size:15px; }
@media print { header.site nav, footer.site { display:none; } }
"""


def favicon() -> bytes:
    """A 16x16 NHS-blue square as an .ico (PNG inside), so no server answers a favicon request with 404."""
    import struct
    import zlib

    size = 16
    raw = b"".join(b"\x00" + bytes((0x00, 0x5E, 0xB8)) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 22) + png


def e(value: object) -> str:
    """HTML-escape any value ('' for None)."""
    return "" if value is None else escape(str(value))


def num(n: int | None) -> str:
    return "&ndash;" if n is None else f"{n:,}"


def pct(part: int, whole: int) -> str:
    return "&ndash;" if not whole else f"{100 * part / whole:.1f}%"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = (), cls: str = "data") -> str:
    """A table from already-escaped cell HTML; columns listed in numeric are right-aligned."""
    numeric = set(numeric)
    num_cls = ' class="num"'
    head = "".join(f'<th scope="col"{num_cls if i in numeric else ""}>{h}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{num_cls if i in numeric else ''}>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def facts(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table of labelled facts (label text is escaped, values are HTML)."""
    body = "".join(f'<tr><th scope="row">{e(k)}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<div class="scroll"><table class="data facts"><tbody>{body}</tbody></table></div>'


def page(title: str, body: str, *, active: str, root: str, period: str, provider: str = "") -> str:
    """A whole HTML page in the frame of templates/base.html, around body (ready HTML).
    root is the relative path back to the site's top folder ('' or '../')."""
    return render("base.html", title=title, body=Markup(body), active=active, root=root, period=period, provider=provider)


def _badges() -> Any:
    """templates/_badges.html's macros and words, for pages still assembled in Python."""
    return environment().get_template("_badges.html").module


def severity_text() -> dict[str, tuple[str, str]]:
    """Severity -> (short label, what the platform does), as templates/_badges.html words it."""
    return dict(_badges().severity_text)


def severity_badge(severity: str) -> str:
    return str(_badges().severity_badge(severity))


def published_badge(published: bool) -> str:
    return str(_badges().published_badge(published))


def inferred_badge() -> str:
    """A published rule whose finding here rests on our reading of logic NHS England has not published."""
    return str(_badges().inferred_badge())
