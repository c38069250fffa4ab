"""`iapt-idb export`: it asks the validation layer for the predicted verdict first, refuses a file the
platform would reject (unless --force), drops rejected rows with --drop-rejected, and checks the period.
The verdict is a stand-in here, so these tests exercise the command, not the validation rules."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from accdb_fixtures import PERIOD, base_db, fresh_dir
from iapt_idb import cli

pytestmark = pytest.mark.java


@dataclass
class FakeVerdict:
    file_rejected: bool
    reasons: list[str] = field(default_factory=list)

    def kept_rows_sql(self, table_name: str) -> str:
        where = "WHERE CareContactId <> '31'" if table_name == "IDS201CareContact" else ""
        return f'SELECT * FROM main."{table_name}" {where}'


@pytest.fixture
def verdicts(monkeypatch: pytest.MonkeyPatch) -> list:
    calls: list = []
    verdict = {"value": FakeVerdict(False)}

    def fake(target_db: Path, period: str) -> FakeVerdict:
        calls.append((Path(target_db), period))
        return verdict["value"]

    monkeypatch.setattr("iapt_idb.validation.api.export_verdict", fake)
    calls.append(verdict)
    return calls


def _export(out: Path, *extra: str) -> int:
    # --no-record: the verdict is a stand-in, so there are no validation results to record in the history
    return cli.main(["export", "--period", PERIOD, "--out", str(out), "--target-db", str(base_db()), "--quiet",
                     "--no-record", *extra])


def test_predicted_file_rejection_is_refused_without_force(verdicts: list, capsys: pytest.CaptureFixture[str]) -> None:
    verdicts[0]["value"] = FakeVerdict(True, ["IDSREJ002: the header table is empty (1 record(s))"])
    folder = fresh_dir("cli_refused")
    assert _export(folder / "IDB.accdb") == 1
    err = capsys.readouterr().err
    assert "IDSREJ002: the header table is empty" in err and "--force" in err
    assert list(folder.iterdir()) == []
    assert verdicts[1] == (base_db(), PERIOD)


def test_force_and_drop_rejected(verdicts: list, capsys: pytest.CaptureFixture[str]) -> None:
    verdicts[0]["value"] = FakeVerdict(True, ["IDSREJ002: the header table is empty (1 record(s))"])
    folder = fresh_dir("cli_forced")
    out = folder / "IDB.accdb"
    # written, but the header is still empty: the exit status stays the whole-file rejection
    assert _export(out, "--force", "--drop-rejected") == 1
    printed = capsys.readouterr()
    assert "written under --force" in printed.err
    assert "export with --template <the official empty IDB from TRUD> (or set IAPT_IDB_TEMPLATE) to be sure" \
        in printed.err
    manifest = json.loads((folder / "IDB.manifest.json").read_text())
    assert manifest["tables"]["IDS201CareContact"] == 3 and manifest["tables"]["IDS101Referral"] == 4
    assert manifest["rows_selected"] == "a caller-supplied SELECT per table"
    assert f"{out}\t{manifest['total_rows']} rows\tsha256 {manifest['sha256']}" in printed.out


def test_period_is_checked_before_anything_else(verdicts: list, capsys: pytest.CaptureFixture[str]) -> None:
    folder = fresh_dir("cli_period")
    code = cli.main(["export", "--period", "2026-09", "--out", str(folder / "IDB.accdb"),
                     "--target-db", str(base_db())])
    assert code == 2
    assert "ReportingPeriodStartDate (row 0) is 2026-10-01, but --period 2026-09" in capsys.readouterr().err
    assert len(verdicts) == 1, "the verdict was asked for although the period is wrong"
    assert list(folder.iterdir()) == []


def test_an_unwritable_history_is_refused_before_the_idb_is_written(verdicts: list, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history"
    history.write_text("a file where the history folder should be", encoding="utf-8")  # root can write anywhere else
    folder = fresh_dir("cli_history")
    code = cli.main(["export", "--period", PERIOD, "--out", str(folder / "IDB.accdb"), "--target-db", str(base_db()),
                     "--quiet", "--submissions", str(history)])
    assert code == 2, "exit 2 means nothing was written"
    err = capsys.readouterr().err
    assert f"the submission history folder {history} cannot be written" in err and "--no-record" in err
    assert list(folder.iterdir()) == []


def test_a_configured_template_is_filled_without_the_flag(verdicts: list, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from accdb_fixtures import create_accdb
    from iapt_idb.accdb.physical import spec_structure

    folder = fresh_dir("cli_configured_template")
    template = create_accdb(folder / "OFFICIAL.accdb", spec_structure())
    monkeypatch.setenv("IAPT_IDB_TEMPLATE", str(template))
    assert _export(folder / "IDB.accdb") == 0
    manifest = json.loads((folder / "IDB.manifest.json").read_text())
    assert manifest["structure"]["source"] == "template" and manifest["structure"]["template_file"] == "OFFICIAL.accdb"
    assert "IAPT_IDB_TEMPLATE" not in capsys.readouterr().err  # no word about the spec's structure


def test_a_configured_template_that_is_not_there_is_unusable_input_naming_the_variable(
    verdicts: list, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = fresh_dir("cli_missing_template")
    missing = folder / "moved" / "OFFICIAL.accdb"
    monkeypatch.setenv("IAPT_IDB_TEMPLATE", str(missing))
    assert _export(folder / "IDB.accdb") == 2
    assert (f"template {missing} (set by IAPT_IDB_TEMPLATE): no such file; give the official empty IAPT v2.1 IDB "
            "(.accdb) from TRUD") in capsys.readouterr().err
    assert list(folder.iterdir()) == []
    # given with --template, the message does not blame the variable
    monkeypatch.delenv("IAPT_IDB_TEMPLATE")
    assert _export(folder / "IDB.accdb", "--template", str(missing)) == 2
    assert f"template {missing}: no such file" in capsys.readouterr().err
    assert list(folder.iterdir()) == []
