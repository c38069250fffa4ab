"""How iapt-idb hands its settings to dbt: the month-to-month vars in the environment, the rest in --vars."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from iapt_idb import dbt_runner, paths


def _captured(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append({"cmd": cmd, "env": kwargs["env"]})
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(dbt_runner.subprocess, "run", fake_run)
    return calls


def test_the_month_and_the_codes_go_to_dbt_in_the_environment_and_the_rest_in_vars(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _captured(monkeypatch)
    dbt_runner.run_dbt(["build"], vars={"period": "2026-09", "dataset_created_at": "2026-10-05T09:00:00",
                                        "provider_ods_code": "RZZ", "tos_input_schema": "tos_input",
                                        "measures_months": 12})
    cmd, env = calls[0]["cmd"], calls[0]["env"]
    # a --vars value that changes makes dbt parse the whole project again: the month and the codes are not in it
    assert json.loads(cmd[cmd.index("--vars") + 1]) == {"measures_months": 12}
    assert env["IAPT_DBT_PERIOD"] == "2026-09" and env["IAPT_DBT_DATASET_CREATED_AT"] == "2026-10-05T09:00:00"
    assert env["IAPT_DBT_PROVIDER_ODS_CODE"] == "RZZ" and env["IAPT_DBT_SUBMITTER_ODS_CODE"] == ""
    assert env["IAPT_DBT_TOS_INPUT_SCHEMA"] == "tos_input"


def test_a_code_other_than_the_projects_own_goes_in_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    # build_var reads a value dbt_project.yml sets before the environment, as var() does: a run given another
    # code must say so in --vars, or it would build the project's
    monkeypatch.setattr(dbt_runner, "project_vars", lambda: {"provider_ods_code": "RXX", "period": ""})
    calls = _captured(monkeypatch)
    dbt_runner.run_dbt(["build"], vars={"period": "2026-09", "provider_ods_code": "RYY"})
    dbt_runner.run_dbt(["build"], vars={"period": "2026-09", "provider_ods_code": "RXX"})
    dbt_runner.run_dbt(["build"], vars={"period": "2026-09"})
    other, same, none = (c["cmd"] for c in calls)
    assert json.loads(other[other.index("--vars") + 1]) == {"provider_ods_code": "RYY"}
    assert calls[0]["env"]["IAPT_DBT_PROVIDER_ODS_CODE"] == ""
    assert "--vars" not in same and calls[1]["env"]["IAPT_DBT_PROVIDER_ODS_CODE"] == "RXX"
    assert "--vars" not in none and calls[2]["env"]["IAPT_DBT_PROVIDER_ODS_CODE"] == ""


def test_a_month_left_in_the_callers_environment_never_reaches_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAPT_DBT_PERIOD", "2025-01")
    monkeypatch.setenv("IAPT_DBT_DATASET_CREATED_AT", "2025-02-05T09:00:00")
    monkeypatch.setenv("IAPT_DBT_TOS_PERIOD_TOKENS", "true")  # would put the plan's placeholders in a build
    calls = _captured(monkeypatch)
    dbt_runner.run_dbt(["compile"], vars={"source_system": "lumen_cms"})
    dbt_runner.run_dbt(["build"], vars={"period": "2026-10"})
    dbt_runner.run_dbt(["compile"], vars={"period": "2026-10", "tos_period_tokens": True})
    assert calls[0]["env"]["IAPT_DBT_PERIOD"] == "" and calls[0]["env"]["IAPT_DBT_DATASET_CREATED_AT"] == ""
    assert calls[1]["env"]["IAPT_DBT_PERIOD"] == "2026-10" and calls[1]["env"]["IAPT_DBT_DATASET_CREATED_AT"] == ""
    assert calls[0]["env"]["IAPT_DBT_TOS_PERIOD_TOKENS"] == calls[1]["env"]["IAPT_DBT_TOS_PERIOD_TOKENS"] == ""
    assert "--vars" not in calls[1]["cmd"]
    # the plan's compile differs from the build before it only in the environment: dbt re-uses the build's parse
    assert calls[2]["env"]["IAPT_DBT_TOS_PERIOD_TOKENS"] == "True" and "--vars" not in calls[2]["cmd"]


def test_a_runs_saved_parse_is_handed_to_another_target_path_whole_or_not_at_all(tmp_path: Path) -> None:
    build, plans = tmp_path / "target", tmp_path / "target" / "validation_plans" / "dbt"
    dbt_runner.share_parse_state(build, plans)  # no parse saved yet: dbt will parse the whole project
    assert not plans.exists()
    build.mkdir()
    (build / dbt_runner.PARSE_STATE).write_bytes(b"saved parse")
    dbt_runner.share_parse_state(build, plans)
    assert (plans / dbt_runner.PARSE_STATE).read_bytes() == b"saved parse"
    (build / dbt_runner.PARSE_STATE).write_bytes(b"the next build's parse")
    dbt_runner.share_parse_state(build, plans)
    assert [p.name for p in plans.iterdir()] == [dbt_runner.PARSE_STATE]  # replaced, nothing half-written left
    assert (plans / dbt_runner.PARSE_STATE).read_bytes() == b"the next build's parse"


def _render(tmp_path: Path, env: dict[str, str], vars: dict[str, str], sql: str) -> str:
    """What dbt compiles for ``sql`` (inline), with ``env`` in the environment and ``vars`` as --vars."""
    warehouse, target_db = tmp_path / "warehouse.duckdb", tmp_path / "target.duckdb"
    duckdb.connect(str(warehouse)).close()
    run_env = dict(dbt_runner.dbt_env(warehouse, target_db), DBT_TARGET_PATH=str(tmp_path / "target"),
                   DBT_LOG_PATH=str(tmp_path / "logs"), **env)
    cmd = [dbt_runner.dbt_executable(), "--quiet", "compile", "--inline", sql, "--vars", json.dumps(vars)]
    proc = subprocess.run(cmd, cwd=paths.ROOT, env=run_env, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout.strip()


def test_dbt_run_by_hand_takes_the_month_from_vars_first_then_from_the_environment(tmp_path: Path) -> None:
    # one dbt run for both (each run parses the whole project): the period is in --vars and in the environment,
    # the creation time only in the environment
    env = {"IAPT_DBT_PERIOD": "2025-01", "IAPT_DBT_DATASET_CREATED_AT": "2025-02-03T04:05:06",
           "IAPT_DBT_PROVIDER_ODS_CODE": "RYY"}
    out = _render(tmp_path, env, {"period": "2026-09"},
                  "select '{{ build_var(\"period\") }}' as p, '{{ build_var(\"dataset_created_at\") }}' as c, "
                  "'{{ build_var(\"provider_ods_code\") }}' as o")
    assert "'2026-09' as p" in out and "'2025-02-03T04:05:06' as c" in out and "'RYY' as o" in out, out


def test_a_new_month_compiles_the_new_month_without_parsing_any_file_again(tmp_path: Path) -> None:
    # the month is read when a node runs, not while dbt parses: after the first month's run, the second
    # month's run finds no file changed (dbt parses again each file that read a changed environment variable)
    # and still compiles the second month
    warehouse, target_db = tmp_path / "warehouse.duckdb", tmp_path / "target.duckdb"
    duckdb.connect(str(warehouse)).close()
    log = tmp_path / "logs" / "dbt.log"
    compiled = {}
    for period in ("2026-09", "2026-10"):
        env = dict(dbt_runner.dbt_env(warehouse, target_db), DBT_TARGET_PATH=str(tmp_path / "target"),
                   DBT_LOG_PATH=str(tmp_path / "logs"), IAPT_DBT_PERIOD=period, IAPT_DBT_PROVIDER_ODS_CODE="RYY")
        log.unlink(missing_ok=True)
        proc = subprocess.run([dbt_runner.dbt_executable(), "--quiet", "compile", "--select", "IDS000Header"],
                              cwd=paths.ROOT, env=env, text=True, capture_output=True, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        [sql] = (tmp_path / "target" / "compiled").rglob("IDS000Header.sql")
        compiled[period] = sql.read_text(encoding="utf-8")
    assert "'2026-10-01'" in compiled["2026-10"] and "'2026-10-31'" in compiled["2026-10"], compiled["2026-10"]
    assert "2026-09" not in compiled["2026-10"]
    assert "'2026-09-30'" in compiled["2026-09"]
    text = log.read_text(encoding="utf-8")
    assert "Partial parsing enabled" in text and "Partial parsing: updated file" not in text, text[-3000:]
