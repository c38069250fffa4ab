"""The submission history and `iapt-idb diff`: each export is recorded as the month's primary or a refresh,
an identical IDB is not recorded again, a killed record write leaves the whole record or none and no
patient data, and the diff of a primary and its refresh names exactly the records and rule codes that
changed, by local key only."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from conftest import CLI, BuiltMarts, isolated_env
from iapt_idb.paths import ROOT
from iapt_idb.submissions import store
from iapt_idb.testhooks import PAUSE_ENV, READY_ENV, SECONDS_ENV
from privacy_asserts import assert_no_patient_data

pytestmark = [pytest.mark.java, pytest.mark.slow]
PERIOD = "2026-10"


@dataclass(frozen=True)
class History:
    root: Path
    env: dict[str, str]
    c1: str  # record key of the care contact broken in the primary, mended in the refresh
    c2: str  # record key of the care contact broken in the refresh
    deleted: str  # record key of the IDS607 row deleted for the refresh
    primary_failures_of_deleted: set[tuple[str, str, str]]
    printed: list[str]
    nhs_numbers: list[str]
    birth_dates: list[str]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=ROOT, env=env, text=True, capture_output=True, timeout=600)


def _failures(record: Path) -> set[tuple[str, str, str]]:
    with (record / "validation" / "validation_report.csv").open(newline="") as f:
        return {(r["rule_code"], r["table"], r["record_key"]) for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def history(built_marts: BuiltMarts, tmp_path_factory: pytest.TempPathFactory) -> History:
    """A primary (contact C1 given an invalid attendance code) and a refresh (C1 mended, C2 broken, one
    IDS607 row deleted) of the same month, exported from a copy of the built marts."""
    work = tmp_path_factory.mktemp("submissions")
    db = work / built_marts.target_db.name  # the built DB's name: its validation plan is compiled once a session
    shutil.copyfile(built_marts.target_db, db)
    env = isolated_env(work, built_marts.warehouse, db)
    env["IAPT_IDB_SUBMISSIONS"] = str(work / "history")
    out = work / "out"
    out.mkdir()
    con = duckdb.connect(str(db))
    # two care contacts with a valid attendance code and no care activity (so nothing cascades from them)
    contacts = con.execute(
        'select CareContactId, ServiceRequestId, AttendOrDNACode from main."IDS201CareContact" c '
        "where AttendOrDNACode in ('2', '3', '4', '5', '6', '7') and not exists (select 1 from "
        'main."IDS202CareActivity" a where a.CareContactId = c.CareContactId) '
        "and (select count(*) from main.\"IDS201CareContact\" d where d.CareContactId = c.CareContactId) = 1 "
        "order by CareContactId limit 2").fetchall()
    (c1, s1, code1), (c2, s2, _) = contacts
    row607 = con.execute(
        'select CareActId, CodedAssToolType from main."IDS607CodedScoreAssessmentAct" '
        "group by all having count(*) = 1 order by all limit 1").fetchone()
    ids = con.execute('select NHSNumber, PersonBirthDate from main."IDS001MPI"').fetchall()
    con.execute('update main."IDS201CareContact" set AttendOrDNACode = \'X\' where CareContactId = ?', [c1])
    con.close()
    printed: list[str] = []
    # --force: the synthetic month carries whole-file defects by design; the history records either verdict
    p = _cli(env, "export", "--period", PERIOD, "--out", str(out / "IDB.accdb"), "--target-db", str(db), "--quiet",
             "--force")
    printed += [p.stdout, p.stderr]
    assert p.returncode == 1, p.stderr[-3000:]  # written under --force; the whole file is predicted rejected
    assert f"recorded as submission {PERIOD} (primary)" in p.stderr
    deleted = f"CareActId={row607[0]};CodedAssToolType={row607[1]}"
    primary = Path(env["IAPT_IDB_SUBMISSIONS"]) / PERIOD / "primary"
    before = {f for f in _failures(primary) if f[1] == "IDS607CodedScoreAssessmentAct" and f[2] == deleted}

    con = duckdb.connect(str(db))
    con.execute('update main."IDS201CareContact" set AttendOrDNACode = ? where CareContactId = ?', [code1, c1])
    con.execute('update main."IDS201CareContact" set AttendOrDNACode = \'X\' where CareContactId = ?', [c2])
    con.execute('delete from main."IDS607CodedScoreAssessmentAct" where CareActId = ? and CodedAssToolType = ?',
                list(row607))
    con.close()
    p = _cli(env, "export", "--period", PERIOD, "--out", str(out / "IDB.accdb"), "--target-db", str(db), "--quiet",
             "--force")
    printed += [p.stdout, p.stderr]
    assert p.returncode == 1, p.stderr[-3000:]  # written under --force; the whole file is predicted rejected
    assert f"recorded as submission {PERIOD}#1 (refresh)" in p.stderr
    return History(Path(env["IAPT_IDB_SUBMISSIONS"]), env, f"CareContactId={c1};ServiceRequestId={s1}",
                   f"CareContactId={c2};ServiceRequestId={s2}", deleted, before, printed,
                   [str(n) for n, _ in ids if n], [d.isoformat() for _, d in ids if d])


def test_diff_of_primary_and_refresh_names_exact_records_and_rule_codes(history: History) -> None:
    p = _cli(history.env, "diff", PERIOD, f"{PERIOD}#1", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert (d["a"]["label"], d["a"]["kind"], d["b"]["label"], d["b"]["kind"]) == (PERIOD, "primary", f"{PERIOD}#1",
                                                                                   "refresh")
    assert not d["same_idb"]
    changed = {t["table"]: (t["added"], t["removed"], t["changed"])
               for t in d["tables"] if t["added"] or t["removed"] or t["changed"]}
    assert changed == {
        "IDS201CareContact": ([], [], sorted([history.c1, history.c2])),
        "IDS607CodedScoreAssessmentAct": ([], [history.deleted], []),
    }
    fixed = {(f["rule_code"], f["table"], f["record_key"]) for f in d["failures"]["fixed"]}
    introduced = {(f["rule_code"], f["table"], f["record_key"]) for f in d["failures"]["introduced"]}
    assert fixed == {("IDS20128", "IDS201CareContact", history.c1)} | history.primary_failures_of_deleted
    assert introduced == {("IDS20128", "IDS201CareContact", history.c2)}
    assert d["measures"] and all(m["change"] in (0, None) for m in d["measures"])  # the measures mart is unchanged

    text = _cli(history.env, "diff", PERIOD, f"{PERIOD}#latest")
    assert text.returncode == 0
    assert "IDS201CareContact: 0 added, 0 removed, 2 changed" in text.stdout
    assert f"fixed IDS20128 IDS201CareContact {history.c1}" in text.stdout
    assert f"introduced IDS20128 IDS201CareContact {history.c2}" in text.stdout
    history.printed.extend([p.stdout, p.stderr, text.stdout, text.stderr])
    assert_no_patient_data(history.printed, history.nhs_numbers, history.birth_dates)
    # the records' own text files hold local keys and digests only (the IDB copy is patient data, as exported).
    # Birth dates are not looked for there: record keys hold other dates (a GP registration's start date, as
    # in every validation report), which can equal someone's birth date.
    texts = [f for f in history.root.rglob("*") if f.is_file() and f.suffix in (".csv", ".json")
             and f.parent.name != "idb"]
    assert len(texts) > 40
    assert_no_patient_data(texts, history.nhs_numbers, [])


def test_identical_idb_is_not_recorded_again(history: History) -> None:
    refresh = history.root / PERIOD / "refresh-1"
    before = sorted(p.name for p in (history.root / PERIOD).iterdir())

    def never(folder: Path) -> None:
        raise AssertionError("an identical IDB must not be recorded")

    done = store.record_submission(history.root, PERIOD, refresh / "idb" / "IDB.accdb", never, {})
    assert done.record is None and done.same_as == f"{PERIOD}#1"
    assert sorted(p.name for p in (history.root / PERIOD).iterdir()) == before == ["primary", "refresh-1"]


def test_unknown_or_damaged_submission_is_exit_2(history: History, tmp_path: Path) -> None:
    p = _cli(history.env, "diff", PERIOD, f"{PERIOD}#7")
    assert p.returncode == 2 and f"no submission {PERIOD}#7" in p.stderr and f"{PERIOD}#1" in p.stderr
    damaged = tmp_path / "refresh-1"
    shutil.copytree(history.root / PERIOD / "refresh-1", damaged)
    with (damaged / "rows" / "IDS101Referral.csv").open("a") as f:
        f.write("ServiceRequestId=X;LocalPatientId=Y,00\n")
    p = _cli(history.env, "diff", PERIOD, str(damaged))
    assert p.returncode == 2 and "damaged (rows/IDS101Referral.csv differs" in p.stderr and "export" in p.stderr


_RECORDER = """
import shutil, sys
from pathlib import Path
from iapt_idb import runlock
from iapt_idb.submissions import store
src, root = Path(sys.argv[1]), Path(sys.argv[2])
def fill(rec):
    for name in ("validation", "rows"):
        shutil.copytree(src / name, rec / name)
    shutil.copyfile(src / "measures.json", rec / "measures.json")
with runlock.exit_on_signals():
    store.record_submission(root, "2026-10", src / "idb" / "IDB.accdb", fill, {})
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_record_write_leaves_no_partial_record(history: History, tmp_path: Path, sig: int) -> None:
    root = tmp_path / "history"
    ready = tmp_path / "ready"
    env = {**history.env, PAUSE_ENV: "history-staged", READY_ENV: str(ready), SECONDS_ENV: "120"}
    proc = subprocess.Popen([sys.executable, "-c", _RECORDER, str(history.root / PERIOD / "primary"), str(root)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text()):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    staged = [p for p in root.iterdir() if p.name.startswith(store.SCRATCH_PREFIX)]
    assert len(staged) == 1 and (staged[0] / "record" / "idb" / "IDB.accdb").is_file()
    assert (staged[0].stat().st_mode & 0o777) == 0o700
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    assert not (root / PERIOD).exists() and store.records(root) == []
    left = [p for p in root.iterdir() if p.name.startswith(store.SCRATCH_PREFIX)]
    if sig == signal.SIGTERM:
        assert left == []  # removed on the way out
    else:  # a SIGKILL leaves the scratch folder: the next record sweeps it, and records whole
        assert left == staged
        rec = subprocess.run([sys.executable, "-c", _RECORDER, str(history.root / PERIOD / "primary"), str(root)],
                             cwd=ROOT, env=history.env, capture_output=True, text=True, timeout=120)
        assert rec.returncode == 0, rec.stderr
        assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
        assert [r.label for r in store.records(root)] == [PERIOD]
        store.load(root / PERIOD / "primary")  # every file matches record.json


def test_submissions_page_shows_the_months_and_the_refresh(history: History, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from iapt_idb.docs_site.pages_trend import submissions_page

    root = tmp_path / "history"
    shutil.copytree(history.root / PERIOD, root / PERIOD)
    earlier = root / "2026-09" / "primary"
    shutil.copytree(history.root / PERIOD / "primary", earlier)
    meta = json.loads((earlier / "record.json").read_text())
    (earlier / "record.json").write_text(json.dumps({**meta, "period": "2026-09", "label": "2026-09"}))
    html = submissions_page(SimpleNamespace(period=PERIOD, provider="RZZ"), root)
    months = html.split('id="months"')[1].split("</table>")[0]
    assert months.index("September 2026") < months.index("October 2026")
    assert f"{PERIOD}#1" in months and "(1 refresh)" in months
    assert "<svg" in html  # the trend chart, drawn from two months
    assert 'id="measures"' in html and "Referrals received" in html
    refresh = html.split(f'id="refresh-{PERIOD}"')[1]
    assert f"{PERIOD}#1 against {PERIOD}" in refresh
    fixed = 1 + len(history.primary_failures_of_deleted)
    assert f"{fixed} fixed, 1 newly introduced" in refresh
    assert "IDS201CareContact" in refresh and "IDS607CodedScoreAssessmentAct" in refresh
    assert_no_patient_data(html, history.nhs_numbers, history.birth_dates)
    empty = submissions_page(SimpleNamespace(period=PERIOD, provider="RZZ"), tmp_path / "none")
    assert "No submission has been recorded yet" in empty
