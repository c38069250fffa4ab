"""The docs site's words are in templates a data-quality lead edits: a changed sentence reaches the built
page, and values from the data are HTML-escaped on every page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from docs_fixtures import Fixture, make_fixture
from iapt_idb.docs_site import build_site, render

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return make_fixture(tmp_path_factory.mktemp("templates_inputs"))


def _build(fx: Fixture, out: Path) -> Path:
    build_site(fx.period, out, fx.report_dir, fx.target_db, history_dir=fx.history_dir, dbt_docs=False,
               manifest_path=fx.manifest, dbt_static_index=fx.static_index)
    return out


def test_a_changed_sentence_in_a_template_changes_the_page(
    fx: Fixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(render.TEMPLATES, templates)
    month = templates / "month.html"
    old, new = "Fix these first.", "Mend these before anything else."
    assert old in month.read_text(encoding="utf-8")
    month.write_text(month.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    base = templates / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("How to read this site", "Reading guide"), encoding="utf-8")
    # a phrase the Python fills in (phrases.txt): plain text, escaped on the page like any value
    phrases = templates / "phrases.txt"
    phrases.write_text(phrases.read_text(encoding="utf-8").replace("a date on or after 1890-01-01",
                                                                   "a date <b>from</b> 1890"), encoding="utf-8")
    monkeypatch.setattr(render, "TEMPLATES", templates)
    site = _build(fx, tmp_path / "site")
    index = (site / "index.html").read_text(encoding="utf-8")
    assert new in index and old not in index  # the fixture's file is rejected, so the sentence shows
    rule_page = next((site / "rules").glob("*.html")).read_text(encoding="utf-8")
    assert ">Reading guide</a>" in index and ">Reading guide</a>" in rule_page  # the frame of every page
    checklist = (site / "checklist.html").read_text(encoding="utf-8")
    assert "checked as: a date &lt;b&gt;from&lt;/b&gt; 1890" in checklist and "1890-01-01" not in checklist


def test_every_template_is_autoescaped() -> None:
    env = render.environment()
    names = env.list_templates()
    assert {"base.html", "month.html", "rule.html", "checklist.html", "rules.html", "lineage.html", "help.html",
            "_badges.html"} <= set(names)
    assert all(env.autoescape(n) if callable(env.autoescape) else env.autoescape for n in names if n.endswith(".html"))


def test_values_from_the_data_are_escaped_on_every_page(fx: Fixture, tmp_path: Path) -> None:
    # A copy of the fixture's report whose rule texts and failure rows carry markup.
    report_dir = tmp_path / "output" / fx.period / "validation"
    shutil.copytree(fx.report_dir, report_dir)
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    summary["source"] = SCRIPT
    for r in summary["rules"]:
        r["description"], r["fix_hint"] = SCRIPT, SCRIPT
    for r in summary["file_reasons"]:
        r["description"] = SCRIPT
    (report_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    rows = json.loads((report_dir / "validation_report.json").read_text(encoding="utf-8"))
    for row in rows:
        row["message"], row["record_key"], row["columns"] = SCRIPT, row["record_key"] + SCRIPT, SCRIPT
    (report_dir / "validation_report.json").write_text(json.dumps(rows), encoding="utf-8")
    site = tmp_path / "site"
    build_site(fx.period, site, report_dir, fx.target_db, dbt_docs=False, manifest_path=fx.manifest,
               dbt_static_index=fx.static_index)
    pages = [p for p in site.rglob("*.html") if p.relative_to(site).parts[0] not in ("dbt-docs", "gx")]
    assert len(pages) > 5
    for page in pages:
        assert "<script>alert" not in page.read_text(encoding="utf-8"), page
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count(ESCAPED) >= 4  # source, a file-level reason, a rule's description and fix
    rule_page = (site / "rules" / "IDS20169.html").read_text(encoding="utf-8")
    assert rule_page.count(ESCAPED) >= 3 * 500  # key, items and detail of each record listed


def test_a_local_rule_is_shown_as_local_never_as_what_the_platform_does(fx: Fixture, tmp_path: Path) -> None:
    report_dir = tmp_path / "output" / fx.period / "validation"
    shutil.copytree(fx.report_dir, report_dir)
    code = "LOCAL-REF-1"
    row = dict(rule_code=code, severity="record_reject", table="IDS101Referral", record_key="ServiceRequestId=RF0000000001",
               columns="SourceOfReferralIAPT", message="[local] referral source missing")
    rows = json.loads((report_dir / "validation_report.json").read_text(encoding="utf-8")) + [row]
    (report_dir / "validation_report.json").write_text(json.dumps(rows), encoding="utf-8")
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    summary["rules"].append(dict(rule_code=code, published=True, severity="record_reject", table="IDS101Referral",
                                 description="House rule: every referral names its source", fix_hint="Record the source",
                                 status="implemented", failures=1, records=1, local=True))
    summary["local"] = {"rules": 1, "failures_by_severity": {"file_reject": 0, "group_reject": 0,
                                                             "record_reject": 1, "warning": 0}}
    (report_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    site = tmp_path / "site"
    build_site(fx.period, site, report_dir, fx.target_db, dbt_docs=False, manifest_path=fx.manifest,
               dbt_static_index=fx.static_index)
    page = (site / "rules" / f"{code}.html").read_text(encoding="utf-8")
    assert ">local rule</span>" in page and "Nothing: this is a local rule" in page
    assert "The record is not loaded" not in page  # never described as the platform rejecting it
    national = (site / "rules" / "IDS10113.html").read_text(encoding="utf-8")
    assert ">local rule</span>" not in national and "The record is not loaded" in national
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count(">local rule</span>") == 1


# Text the site's Python matches in the data (code-list descriptions and notes), never shows.
_MATCHED_NOT_SHOWN = {"not a national list", "ICD-10 or SNOMED CT",
                      "^(not known|not stated|unknown|number of hours worked not known)"}


def test_no_sentence_left_in_the_sites_python() -> None:
    """Every phrase the site shows is in templates/: a string of three or more words in docs_site/*.py is a
    docstring, an error or log message, SQL, or text matched in the data."""
    import ast
    import re

    words = re.compile(r"[A-Za-z]+(?:'[a-z]+)? [A-Za-z]+ [A-Za-z]+")
    not_shown = ("UserError", "SummaryError", "print", "warn", "RuntimeError", "ValueError", "execute", "write_text")
    found = []
    for path in sorted(Path(render.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip: set[int] = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))  # a docstring
            name = getattr(getattr(node, "func", None), "id", None) or getattr(getattr(node, "func", None), "attr", None)
            if isinstance(node, ast.Raise) or (isinstance(node, ast.Call) and name in not_shown):
                skip.update(id(n) for n in ast.walk(node))
        found += [f"{path.name}:{n.lineno}: {n.value[:60]!r}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
                  and words.search(n.value) and n.value not in _MATCHED_NOT_SHOWN]
    assert not found, "words of the site in Python: move them to a template (templates/README.md)\n" + "\n".join(found)
