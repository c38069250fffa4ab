"""The data-quality docs site: built from small fixture inputs, checked in files and in headless Chromium.

One Chromium session serves the whole module. Screenshots go to pytest's tmp folder (and to
$IAPT_DOCS_SCREENSHOT_DIR when set, to look at them while developing).
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import os
import re
import shutil
import tempfile
import threading
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import duckdb
import pytest

from docs_fixtures import Fixture, make_fixture
from iapt_idb.cli import main
from iapt_idb.errors import UserError
from iapt_idb.docs_site import build_site
from iapt_idb.docs_site.codes import DEFAULT, INVALID, MISSING, OTHER, VALID, load_code_list
from iapt_idb.docs_site.vodim import measure_all
from iapt_idb.spec import load_tables

PERIOD_BOUNDS = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return make_fixture(tmp_path_factory.mktemp("docs_inputs"))


def _build(fx: Fixture, out: Path) -> Path:
    return build_site(
        fx.period, out, fx.report_dir, fx.target_db, history_dir=fx.history_dir, dbt_docs=False,
        manifest_path=fx.manifest, dbt_static_index=fx.static_index,
    )


@pytest.fixture(scope="module")
def site(fx: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(fx, tmp_path_factory.mktemp("docs_site") / "site").parent


def _html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html"))


# ---------------------------------------------------------------- files, no browser


def test_site_has_every_page(site: Path, fx: Fixture) -> None:
    for name in ("index.html", "checklist.html", "rules.html", "lineage.html", "help.html", "dbt-docs/index.html", "gx/index.html"):
        assert (site / name).is_file(), name
    report = json.loads((fx.report_dir / "validation_report.json").read_text())
    for code in {f["rule_code"] for f in report}:
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", code).strip("-")
        assert (site / "rules" / f"{slug}.html").is_file(), code


def test_no_nhs_number_birth_date_or_postcode_anywhere(site: Path, fx: Fixture) -> None:
    # The fixture deliberately puts an NHS Number in a failure message, and a birth date and postcodes (in
    # another case and spacing than the marts hold them) in the GX pages.
    gx_page = (fx.report_dir / "gx_data_docs" / "validations" / "tos_IDS001MPI.html").read_text()
    assert fx.nhs_numbers[1] in (fx.report_dir / "validation_report.json").read_text()
    assert fx.birth_dates[0].isoformat() in gx_page and "ls28  9nx" in gx_page and "BD1 1NG" in gx_page
    with duckdb.connect(str(fx.target_db), read_only=True) as con:
        nhs = [r[0] for r in con.execute('select "NHSNumber" from main."IDS001MPI" where "NHSNumber" is not null').fetchall()]
        dobs = [r[0] for r in con.execute('select "PersonBirthDate" from main."IDS001MPI" where "PersonBirthDate" is not null').fetchall()]
        postcodes = {r[0] for r in con.execute('select "Postcode" from main."IDS001MPI"').fetchall()} - {"ZZ99 3WZ"}
    assert len(nhs) == len(fx.nhs_numbers) and dobs and {"LS28 9NX", "BD11NG"} <= postcodes
    needles = set(nhs) | {d.isoformat() for d in dobs} | {d.strftime("%d/%m/%Y") for d in dobs}
    needles |= postcodes | {"BD1 1NG"}  # BD11NG as a page may spell it
    files = [p for p in site.rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        text = " ".join(path.read_text(encoding="utf-8", errors="replace").upper().split())
        found = [n for n in needles if n in text]
        assert not found, f"{path.relative_to(site)} contains {found}"
        assert not re.search(r"(?<!\d)999\d{7}(?!\d)", text), f"{path.relative_to(site)} holds a 999 NHS-Number-shaped value"
    # the pseudo-postcode identifies nobody: the page keeps it
    assert "ZZ99 3WZ" in (site / "gx" / "validations" / "tos_IDS001MPI.html").read_text()


def test_nothing_is_fetched_from_the_internet(site: Path) -> None:
    # The fixture's GX pages load Bootstrap/jQuery from CDNs and an image from the web: the copy drops them.
    remote = re.compile(r"<(script|img|iframe|link)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.I)
    for page in _html_pages(site):
        text = page.read_text(encoding="utf-8")
        assert not remote.search(text), f"{page.relative_to(site)} loads a remote resource"
        assert "@import url(http" not in text
    assert "offline-note" in (site / "gx" / "validations" / "tos_IDS001MPI.html").read_text()


def test_same_inputs_give_identical_site(fx: Fixture, site: Path, tmp_path: Path) -> None:
    again = _build(fx, tmp_path / "again").parent
    first = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_vodim_counts_follow_the_code_lists(fx: Fixture) -> None:
    with duckdb.connect(str(fx.target_db), read_only=True) as con:
        items = {(q.table, q.column): q for q in measure_all(con, load_tables(), PERIOD_BOUNDS)}
    ethnic = items[("IDS001MPI", "EthnicCategory")]
    # Fixture values: A B 99 Z Q9 <null> C H A N S A
    assert dict(ethnic.counts) == {VALID: 8, DEFAULT: 2, INVALID: 1, MISSING: 1}
    assert ethnic.invalid_codes == [("Q9", 1)]
    assert dict(items[("IDS007DisabilityType", "DisabCode")].counts) == {OTHER: 1, VALID: 1}
    assert dict(items[("IDS001MPI", "Postcode")].counts) == {VALID: 11, DEFAULT: 1}  # one ZZ99 pseudo-postcode
    assert dict(items[("IDS101Referral", "OnsetDate")].counts) == {VALID: 11, INVALID: 1}  # '2026-0'
    assert items[("IDS001MPI", "NHSNumber")].counts == Counter({VALID: 12})
    assert items[("IDS001MPI", "EthnicCategory2021")].counts == Counter({MISSING: 12})
    assert items[("IDS201CareContact", "AttendOrDNACode")].counts[INVALID] == 69  # code 0 is not accepted for IAPT
    assert items[("IDS003AccommStatus", "AccommodationType")].rows == 0


def test_code_list_groups() -> None:
    disability = load_code_list("disability_code", *PERIOD_BOUNDS)
    assert (disability.categorise("XX"), disability.categorise("ZZ"), disability.categorise("01")) == (OTHER, DEFAULT, VALID)
    assert disability.categorise("xx") == INVALID  # compared exactly, as the platform does
    end_code = load_code_list("discharge_reason_iapt_end_code", *PERIOD_BOUNDS)
    assert end_code.categorise("46") == VALID and end_code.categorise("40") == INVALID  # legacy v1.5 code retired
    assert load_code_list("source_of_referral_iapt", *PERIOD_BOUNDS).categorise("Q1") == INVALID
    assert load_code_list("weekly_hours_worked", *PERIOD_BOUNDS).categorise("99") == DEFAULT


def test_checklist_status_and_counts(site: Path) -> None:
    html = (site / "checklist.html").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r'id="(IDS\d{3}\w+-\w+)".*?</tr>', html, re.S)}
    assert len(rows) == 140
    assert "partly mapped" in rows["IDS001MPI-EthnicCategory"] and "Q9" in rows["IDS001MPI-EthnicCategory"]
    assert "not mapped" in rows["IDS001MPI-EthnicCategory2021"]
    assert "badge st-mapped" in rows["IDS000Header-OrgIDProv"]
    assert "66.7%" in rows["IDS001MPI-EthnicCategory"]  # 8 valid of 12
    assert 'href="rules/IDS00133.html">IDS00133</a>&nbsp;(1)' in rows["IDS001MPI-EthnicCategory"]


def test_month_page_states_the_outcome_and_ranks_rules(site: Path) -> None:
    html = (site / "index.html").read_text()
    assert "The platform would reject the whole file" in html
    ranked = re.findall(r"<td class=\"num\">\d+</td><td><a href=\"rules/([^\"]+)\.html\"", html)
    assert ranked[:3] == ["IDS20169", "IDS20128", "IDS10118"]  # 551, 69, 4 records
    measures = html[html.index('id="measures"'):]
    assert "Referrals received" in measures and "55.6%" in measures and "Recovery rate" in measures


def test_cli_reports_user_errors(tmp_path: Path, fx: Fixture, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["docs", "--period", "2026-10", "--out", str(tmp_path / "s"), "--report", str(tmp_path / "none"),
                 "--target-db", str(fx.target_db), "--no-dbt-docs"])
    assert code == 2 and "validation report folder" in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        build_site(fx.period, busy, fx.report_dir, fx.target_db, dbt_docs=False, manifest_path=fx.manifest)
    assert (busy / "keep.txt").read_text() == "mine"
    with pytest.raises(UserError, match="not 2026-09"):
        build_site("2026-09", tmp_path / "s2", fx.report_dir, fx.target_db, dbt_docs=False)


# ---------------------------------------------------------------- in headless Chromium


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("Chromium and chromedriver are needed (make system-deps)")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def served(site: Path):
    """The site behind a plain HTTP server, as a user would publish it."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _errors(driver, page: str = "") -> list[dict]:
    """Console errors. In dbt's own docs page only script errors count: its menu icons make one failed
    request each before Angular fills them in (a dbt slip, harmless: the icons then show)."""
    entries = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    if page.startswith("dbt-docs/"):
        entries = [entry for entry in entries if entry.get("source") != "network" or "getIcon" not in entry["message"]]
    return entries


@pytest.mark.browser
def test_every_page_loads_without_console_errors(browser, site: Path, served: str) -> None:
    _errors(browser)  # clear
    for page in _html_pages(site):
        rel = page.relative_to(site).as_posix()
        browser.get(served + rel)
        assert browser.execute_script("return document.readyState") == "complete"
        assert browser.find_element("tag name", "body").text.strip(), f"{rel} shows nothing"
        assert _errors(browser, rel) == [], rel


@pytest.mark.browser
def test_charts_render_with_data(browser, site: Path) -> None:
    browser.get((site / "index.html").as_uri())
    charts = browser.find_elements("css selector", "svg.chart")
    assert len(charts) == 3  # failures by table, by rule, trend across three months
    for chart in charts:
        marks = chart.find_elements("css selector", "rect.bar, circle")
        assert marks, chart.get_attribute("aria-label")
        assert chart.size["width"] > 300 and chart.size["height"] > 60
        assert any(m.size["width"] > 2 for m in marks)
    widths = {b.find_element("xpath", "./..").get_dom_attribute("href").rsplit("/", 1)[-1]: b.size["width"]
              for b in charts[1].find_elements("css selector", "rect.bar")}
    assert widths["IDS20169.html"] > widths["IDS20128.html"] > widths["IDS10118.html"]
    browser.get((site / "checklist.html").as_uri())
    assert len(browser.find_elements("css selector", "svg.mini")) == 140


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


@pytest.mark.browser
def test_every_internal_link_resolves(browser, site: Path) -> None:
    start = (site / "index.html").resolve()
    todo, seen, checked = [start], set(), 0
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        browser.get(page.as_uri())
        hrefs = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href]'), a => new URL(a.getAttribute('href'), document.baseURI).href)"
        )
        for href in hrefs:
            url, fragment = urldefrag(href)
            parsed = urlparse(url)
            if parsed.scheme != "file":
                continue
            target = Path(unquote(parsed.path))
            assert target.is_file(), f"{page.relative_to(site)} links to missing {href}"
            if fragment and "dbt-docs" not in target.parts:  # dbt docs fragments are routes of its app
                ids = _Ids()
                ids.feed(target.read_text(encoding="utf-8"))
                assert unquote(fragment) in ids.ids, f"{page.relative_to(site)} links to missing anchor {href}"
            checked += 1
            if target.suffix == ".html" and site.resolve() in target.resolve().parents and "dbt-docs" not in target.parts:
                todo.append(target.resolve())
    assert checked > 100 and len(seen) >= 15


def _keys_on_rule_pages(browser, first: Path) -> list[str]:
    keys, page = [], first
    visited = set()
    while page and page not in visited:
        visited.add(page)
        browser.get(page.as_uri())
        keys += [td.text for td in browser.find_elements("css selector", "table.records td.key")]
        nxt = [a.get_attribute("href") for a in browser.find_elements("css selector", "nav.pager a")]
        following = [Path(unquote(urlparse(h).path)) for h in nxt if Path(unquote(urlparse(h).path)) not in visited]
        page = following[0] if following else None
    return keys


@pytest.mark.browser
def test_rule_page_lists_exactly_the_reported_records(browser, site: Path, fx: Fixture) -> None:
    report = json.loads((fx.report_dir / "validation_report.json").read_text())
    for code in ("IDS20169", "IDS10118", "UNPUBLISHED(IDS001-GI-3)"):
        expected = sorted(f["record_key"] for f in report if f["rule_code"] == code)
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", code).strip("-")
        shown = _keys_on_rule_pages(browser, site / "rules" / f"{slug}.html")
        assert sorted(shown) == expected, code
    assert len(expected) == 1 and "UNPUBLISHED" in browser.find_element("tag name", "body").text


@pytest.mark.browser
def test_screenshot_of_the_month_page(browser, site: Path, tmp_path: Path) -> None:
    browser.get((site / "index.html").as_uri())
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(height + 120, 6000))
    shot = tmp_path / "month_page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    keep = os.environ.get("IAPT_DOCS_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / shot.name)
    browser.set_window_size(1280, 1000)


def test_postcodes_are_scrubbed_in_any_case_and_spacing_and_nothing_else() -> None:
    from iapt_idb.docs_site import privacy

    with duckdb.connect() as con:
        con.execute('create table main."IDS001MPI" ("Postcode" varchar)')
        con.execute("""insert into main."IDS001MPI" values ('LS28 9NX'), ('bd11ng'), ('LS1-4AP'), ('ZZ99 3WZ'), ('X1')""")
        ids = privacy.collect(con)
    text = ("a ls28 9nx b LS289NX c LS28\t 9NX d BD1 1NG e BD11NG f ls1-4ap g ZZ99 3WZ h X1 i LS28 9NXY "
            "j LS28 9NX2 k NX LS28 l LS28-9NX m L S28 9NX")
    clean = privacy.Scrubber(ids)(text)
    assert clean == ("a [removed] b [removed] c [removed] d [removed] e [removed] f [removed] g ZZ99 3WZ h X1 "
                     "i LS28 9NXY j LS28 9NX2 k NX LS28 l [removed] m [removed]")
