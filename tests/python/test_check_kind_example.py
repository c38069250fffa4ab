"""The worked example "Adding a check kind" of macros/tos/README.md, followed as written in a copy of the
project: its five steps, read from the README itself (the CheckKind line and the macro), make the new kind
part of the one list of check kinds in Python (validation/checks.py and the catalogue), in Jinja
(tos_check_kinds() and the table pass) and in the tests (validation_fixtures makes it fail), and a local
rule of the new kind is reported on its known-bad record only, with its reworded fix text. No dbt build: the
copy validates a CSV IDB."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import validation_fixtures as vf
from conftest import CLI, isolated_env
from iapt_idb.paths import ROOT
from iapt_idb.validation import checks

README = ROOT / "macros" / "tos" / "README.md"
_COPY_SKIP = {".git", ".venv", ".jars", "data", "output", "target", "logs", "dbt_packages", "__pycache__",
              ".pytest_cache", "bench"}

LOCAL_RULE = """\
local_rules:
  - code: LOCAL-DUR-001
    table: IDS201CareContact
    check: max_value
    params: {column: ClinContDurOfCareCont, max: 240}
    severity: warning
    description: A care contact lasts at most four hours.
fix_hints:
  LOCAL-DUR-001: Check the contact's recorded duration in minutes.
"""

# Step 4 of the example: the fixtures learn to make the new kind fail.
MAKE_BAD = '''    elif check == "max_value":
        row[c] = str(int(p["max"]) + 1)
'''
# Step 3: its fix hint.
HINT = '''    if check == "max_value":
        return f"{c} must be at most {p['max']}; check the value entered in the clinical system."
'''


def _example() -> dict[str, str]:
    """The pieces of the README's worked example: the CheckKind line (step 1) and the macro (step 2)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Adding a check kind", 1)[1]
    kind = re.search(r'`(CheckKind\("(\w+)".*?\))`', section)
    macro = re.search(r"```sql\n(.*?)```", section, re.S)
    assert kind and macro, "the worked example in macros/tos/README.md lost its CheckKind line or its macro"
    name = kind.group(2)
    assert f"tos_parts_{name}.sql" in section and "hints.py" in section and "_make_bad" in section
    assert "_tos__macros.yml" in section
    return {"name": name, "kind": kind.group(1), "macro": "\n".join(line[3:] if line.startswith("   ") else line
                                                                      for line in macro.group(1).splitlines()) + "\n"}


def _insert_before(path: Path, anchor: str, text: str) -> None:
    source = path.read_text(encoding="utf-8")
    assert source.count(anchor) == 1, f"{path.name}: the anchor {anchor!r} is not there once"
    path.write_text(source.replace(anchor, text + anchor), encoding="utf-8")


def _follow_the_example(project: Path, ex: dict[str, str]) -> None:
    name = ex["name"]
    # 1. checks.py: the kind in the one list
    _insert_before(project / "scripts/iapt_idb/validation/checks.py", '    CheckKind("parent_valid"',
                   f"    {ex['kind']},\n")
    # 2. its macro
    (project / "macros/tos" / f"tos_parts_{name}.sql").write_text(ex["macro"], encoding="utf-8")
    # 3. its fix hint
    _insert_before(project / "scripts/iapt_idb/validation/hints.py", '    raise ValueError(f"no fix hint for check',
                   HINT)
    # 4. the fixtures make it fail
    _insert_before(project / "tests/python/validation_fixtures.py", "    else:\n        raise AssertionError(f\"no "
                   "mutation for check", MAKE_BAD)
    # 5. the macro documented
    with (project / "macros/tos/_tos__macros.yml").open("a", encoding="utf-8") as fh:
        fh.write(f"  - name: tos_parts_{name}\n    description: \"Check kind {name}: an integer above max.\"\n")
    # and a rule that uses it
    (project / "rules" / "local_rules.yml").write_text(LOCAL_RULE, encoding="utf-8")


def _env(project: Path, work: Path) -> dict[str, str]:
    env = {**isolated_env(work, warehouse=vf.empty_warehouse(work)), "IAPT_IDB_PROJECT_DIR": str(project)}
    # the copy's own Python package and test fixtures, not this tree's
    env["PYTHONPATH"] = os.pathsep.join([str(project / "scripts"), str(project / "tests" / "python")])
    return env


def _python(project: Path, env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=project, env=env, text=True, capture_output=True,
                          timeout=300)


@pytest.mark.slow
def test_new_check_kind_from_the_readme_is_picked_up_everywhere(tmp_path: Path) -> None:
    ex = _example()
    name = ex["name"]
    assert name not in checks.BY_NAME, "the example's kind exists already: pick another one for the README"
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=lambda d, names: [n for n in names if n in _COPY_SKIP])
    _follow_the_example(project, ex)
    work = tmp_path / "work"
    work.mkdir()
    env = _env(project, work)

    gen = subprocess.run([sys.executable, "-m", "iapt_idb.validation.catalogue"], cwd=project, env=env, text=True,
                         capture_output=True, timeout=300)
    assert gen.returncode == 0, gen.stderr[-3000:]

    # Python and Jinja: the generated list and docs name the kind; the copy's fixtures can make it fail
    generated = (project / "macros/tos/_tos_generated.sql").read_text(encoding="utf-8")
    kinds = json.loads(re.search(r"macro tos_check_kinds\(\) %\}.*?return\((\{.*?\})\)", generated, re.S).group(1))
    assert name in kinds["row"]
    assert f"`{name}`" in (project / "docs/check_kinds.md").read_text(encoding="utf-8")
    documented = {m["name"] for m in yaml.safe_load((project / "macros/tos/_tos__macros.yml").read_text())["macros"]}
    assert f"tos_parts_{name}" in documented
    probe = _python(project, env, (
        "import json, iapt_idb, validation_fixtures as vf\n"
        "from iapt_idb.validation import catalogue, checks\n"
        f"assert iapt_idb.__file__.startswith({str(project)!r}), iapt_idb.__file__\n"
        f"rule = {{r.rule_code: r for r in catalogue.build()}}['LOCAL-DUR-001']\n"
        f"assert rule.check == {name!r}, rule\n"
        "assert rule.fix_hint == \"Check the contact's recorded duration in minutes.\", rule.fix_hint\n"
        f"assert {name!r} in checks.ROW_CHECKS and {name!r} in vf.ROW_AND_CASCADE_CHECKS\n"
        "idb = vf.valid_idb(2)\n"
        "fam = vf.family(7, 'M')\n"
        "vf.add(idb, fam)\n"
        "keys = vf.mutate(idb, {'check_name': rule.check, 'params': rule.params,\n"
        "                       'table_name': rule.table_name}, fam)\n"
        f"vf.write_csv_dir(idb, __import__('pathlib').Path({str(work / 'csv')!r}))\n"
        "print(json.dumps(keys))\n"
    ))
    assert probe.returncode == 0, probe.stderr[-3000:]
    keys = json.loads(probe.stdout.strip().splitlines()[-1])
    assert keys

    # the tests of the one list pass in the copy with the new kind in it
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         "tests/python/test_local_rules.py::test_one_list_of_check_kinds",
         "tests/python/test_validation_catalogue.py::test_every_check_has_its_macro",
         "tests/python/test_validation_catalogue.py::test_generated_files_are_up_to_date"],
        cwd=project, env=env, text=True, capture_output=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]

    # SQL: the macro runs in the table pass, on the known-bad record only
    report = work / "report"
    proc = subprocess.run([CLI, "validate", str(work / "csv"), "--period", vf.PERIOD, "--report", str(report),
                           "--no-gx"], cwd=project, env=env, text=True, capture_output=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    failures = json.loads((report / "validation_report.json").read_text(encoding="utf-8"))
    assert [(f["rule_code"], f["table"], f["record_key"]) for f in failures] == [
        ("LOCAL-DUR-001", "IDS201CareContact", k) for k in keys]
    assert failures[0]["message"] == "[local] ClinContDurOfCareCont is above 240"
    # the reworded fix text (rules/local_rules.yml fix_hints) is the one the report gives
    (rule,) = json.loads((report / "summary.json").read_text(encoding="utf-8"))["rules"]
    assert rule["fix_hint"] == "Check the contact's recorded duration in minutes." and rule["local"] is True
