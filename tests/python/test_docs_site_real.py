"""The docs site on the real pipeline: the shared small warehouse's marts, `iapt-idb validate`
(with Great Expectations) and `iapt-idb docs` (with `dbt docs generate`), run as a user runs them.

The marts' DuckDB file is copied first: validation writes its models into the DB it reads.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import duckdb
import pytest

from conftest import PERIOD, BuiltMarts, isolated_env, run_cli
from test_docs_site import _errors, _html_pages, browser, served  # noqa: F401  (module fixtures reused)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class RealSite:
    site: Path
    report: Path
    target_db: Path


@pytest.fixture(scope="module")
def real(built_marts: BuiltMarts, tmp_path_factory: pytest.TempPathFactory) -> RealSite:
    work = tmp_path_factory.mktemp("docs_real")
    db = work / "iapt.duckdb"
    shutil.copyfile(built_marts.target_db, db)
    env = isolated_env(work, built_marts.warehouse, db)
    report = work / "output" / PERIOD / "validation"
    proc = run_cli(["validate", "--period", PERIOD, "--report", str(report), "--target-db", str(db)], env)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    site = work / "site"
    proc = run_cli(
        ["docs", "--period", PERIOD, "--out", str(site), "--report", str(report), "--target-db", str(db),
         "--history", str(work / "output")],
        env,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert str(site / "index.html") in proc.stdout
    return RealSite(site, report, db)


@pytest.fixture(scope="module")
def site(real: RealSite) -> Path:  # the name the reused `served` fixture expects
    return real.site


def _words_and_pairs(text: str) -> set[str]:
    """Every word and every pair of words (one space apart) of a text, upper case, white space runs as one."""
    text = " ".join(text.upper().split())
    return set(re.findall(r"[A-Z0-9]+", text)) | set(re.findall(r"(?=(?<![A-Z0-9])([A-Z0-9]+ [A-Z0-9]+)(?![A-Z0-9]))", text))


def test_no_nhs_number_birth_date_or_postcode_from_the_marts(real: RealSite) -> None:
    with duckdb.connect(str(real.target_db), read_only=True) as con:
        nhs = {r[0] for r in con.execute('select "NHSNumber" from main."IDS001MPI" where "NHSNumber" is not null').fetchall()}
        dobs = {r[0].isoformat() for r in con.execute('select "PersonBirthDate" from main."IDS001MPI" where "PersonBirthDate" is not null').fetchall()}
        postcodes = {" ".join(r[0].upper().split()) for r in con.execute('select "Postcode" from main."IDS001MPI"').fetchall()
                     if r[0] and len(r[0].strip()) >= 5 and not r[0].upper().startswith("ZZ99")}
    assert len(nhs) > 50 and len(dobs) > 50 and len(postcodes) > 50
    files = [p for p in real.site.rglob("*") if p.is_file()]
    assert any(p.parts[-2:] == ("dbt-docs", "index.html") for p in files) and any("gx" in p.parts for p in files)
    # the report folder too: validate's own GX data docs, which the site copies
    report_files = [p for p in real.report.rglob("*") if p.is_file()]
    assert any("gx_data_docs" in p.parts for p in report_files)
    for path in files + report_files:
        text = path.read_text(encoding="utf-8", errors="replace")
        tokens = set(re.findall(r"(?<!\d)\d{10}(?!\d)", text)) | set(re.findall(r"\d{4}-\d{2}-\d{2}", text))
        assert not tokens & nhs, f"{path} holds an NHS Number"
        assert not tokens & dobs, f"{path} holds a birth date"
        assert not _words_and_pairs(text) & postcodes, f"{path} holds a postcode"


def test_every_rule_page_lists_exactly_the_reported_records(real: RealSite) -> None:
    report = json.loads((real.report / "validation_report.json").read_text())
    expected: dict[str, Counter] = {}
    for f in report:
        expected.setdefault(f["rule_code"], Counter())[f["record_key"]] += 1
    assert expected, "the synthetic warehouse has defects, so some rule must fail"
    for code, keys in expected.items():
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", code).strip("-")
        shown: Counter = Counter()
        for page in sorted((real.site / "rules").glob(f"{slug}.html")) + sorted((real.site / "rules").glob(f"{slug}-p*.html")):
            shown.update(unescape(k) for k in re.findall(r'<td class="key">(.*?)</td>', page.read_text()))
        assert shown == keys, code


def test_checklist_shows_where_every_item_comes_from(real: RealSite) -> None:
    html = (real.site / "checklist.html").read_text()
    rows = re.findall(r'id="(IDS\d{3}\w+-\w+)".*?</tr>', html, re.S)
    assert len(rows) == 140
    assert "badge st-unknown" not in html  # the manifest from `dbt docs generate` was found
    statuses = Counter(re.findall(r'class="badge st-(mapped|partly|not)"', html))
    assert statuses["mapped"] + statuses["partly"] >= 120 and statuses["not"] >= 1  # EthnicCategory2021 is not recorded


@pytest.mark.browser
def test_real_pages_open_cleanly(browser, served: str, real: RealSite) -> None:  # noqa: F811
    _errors(browser)
    pages = ["index.html", "checklist.html", "rules.html", "lineage.html", "dbt-docs/index.html", "gx/index.html"]
    pages += [p.relative_to(real.site).as_posix() for p in sorted((real.site / "gx" / "validations").rglob("*.html"))[:2]]
    first_rule = re.search(r'href="(rules/[^"]+\.html)"', (real.site / "index.html").read_text())
    assert first_rule
    pages.append(first_rule.group(1))
    for rel in pages:
        browser.get(served + rel)
        browser.implicitly_wait(0)
        assert browser.find_element("tag name", "body").text.strip(), rel
        assert _errors(browser, rel) == [], rel
    browser.get(served + "index.html")
    assert len(browser.find_elements("css selector", "svg.chart rect.bar")) > 3
    assert len(_html_pages(real.site)) > 30
