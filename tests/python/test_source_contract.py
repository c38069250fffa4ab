"""The staging contract: one definition, read by every layer; only source-system folders name a system."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from iapt_idb import contract
from iapt_idb.dbtgen import lineage
from iapt_idb.paths import ROOT, SOURCE_SYSTEMS_DIR

# Everything dbt reads except the source-system folders.
SHARED_DIRS = ("models", "macros", "tests/dbt", "analyses", "seeds")
# A source() call (in Jinja, or as a unit test's input) of any source but the project's own accumulation of
# IDB submissions (idb_submissions: the measures' second input, IDB-shaped and the same for every system).
SOURCE_CALL = re.compile(r"(?:\{[{%][^}]*|input:\s*)\bsource\s*\((?!\s*['\"]idb_submissions['\"])")
SYSTEM_MODEL = re.compile(r"\bstg_[a-z0-9_]+?__[a-z0-9_]+")


def _shared_files() -> list[Path]:
    return [p for d in SHARED_DIRS for p in (ROOT / d).rglob("*") if p.suffix in {".sql", ".yml", ".yaml"}]


def test_only_source_system_folders_read_sources_or_name_a_system_model() -> None:
    offenders = []
    for path in _shared_files():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        if SOURCE_CALL.search(text):
            offenders.append(f"{rel}: calls source()")
        for name in sorted(set(SYSTEM_MODEL.findall(text))):
            offenders.append(f"{rel}: names the system model {name}")
    assert not offenders, "only source_systems/<system>/ may read sources or name a system's models:\n" + "\n".join(offenders)


def test_every_lineage_source_is_a_contract_column() -> None:
    columns = {f"{e.name}.{c.name}" for e in contract.ENTITIES for c in e.columns}
    used = {s for lin in lineage.COLUMN_LINEAGE.values() for s in lin.sources}
    assert used and used <= columns, sorted(used - columns)
    entities = {e.name for e in contract.ENTITIES}
    assert {s for inc in lineage.MART_INCLUSION.values() for s in inc.staging} <= entities


def test_interface_models_enforce_the_contract() -> None:
    doc = yaml.safe_load((ROOT / "models" / "staging" / "_staging__models.yml").read_text(encoding="utf-8"))
    models = {m["name"]: m for m in doc["models"]}
    assert set(models) == {e.interface_model for e in contract.ENTITIES}
    for e in contract.ENTITIES:
        m = models[e.interface_model]
        assert m["config"]["contract"] == {"enforced": True}
        names = [c["name"] for c in m["columns"]]
        assert all(c.delivered in names for c in e.columns)
        assert all(c.get("data_type") for c in m["columns"]), e.name


def test_lumen_cms_is_a_source_system_folder() -> None:
    lumen = SOURCE_SYSTEMS_DIR / contract.DEFAULT_SYSTEM
    for e in contract.ENTITIES:
        assert (lumen / f"{e.system_model(contract.DEFAULT_SYSTEM)}.sql").is_file(), e.name
    for code_set in contract.CODE_SETS:
        assert (lumen / "mappings" / f"map_{code_set}.csv").is_file(), code_set
    sources = yaml.safe_load((lumen / "_lumen_cms__sources.yml").read_text(encoding="utf-8"))
    assert all(t.get("identifier") for s in sources["sources"] for t in s["tables"])


def test_scaffold_lists_every_contract_column_and_check_lists_every_gap(tmp_path: Path) -> None:
    from iapt_idb import source_systems

    source_systems.scaffold("my_cms", root=tmp_path)
    folder = tmp_path / "my_cms"
    for e in contract.ENTITIES:
        sql = (folder / f"{e.system_model('my_cms')}.sql").read_text(encoding="utf-8")
        for c in e.columns:
            assert f"as {c.delivered}" in sql and "-- TODO" in sql, (e.name, c.name)
    assert sorted(p.stem for p in (folder / "mappings").glob("*.csv")) == sorted(
        [f"map_{s}" for s in contract.CODE_SETS] + list(contract.EXTRA_SEEDS)
    )
    findings = [str(f) for f in source_systems.static_findings("my_cms", folder)]
    assert sum("is still TODO" in f for f in findings) == sum(len(e.columns) for e in contract.ENTITIES)
    assert sum("has identifier TODO" in f for f in findings) == len(contract.ENTITIES)
