"""`make setup` installs with uv from the package sources pip is set up with (scripts/uv_install.py): a
provider's mirror, local wheels and certificate are uv's too, never PyPI behind the mirror's back."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from iapt_idb.paths import ROOT

_spec = importlib.util.spec_from_file_location("uv_install", ROOT / "scripts" / "uv_install.py")
assert _spec and _spec.loader
uv_install = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(uv_install)


def test_pips_mirror_links_and_certificate_become_uvs_options() -> None:
    args, env = uv_install.uv_options({
        "index-url": "https://mirror.trust.nhs.example/simple",
        "extra-index-url": "https://a.example/s https://b.example/s",
        "find-links": "/opt/wheels", "trusted-host": "mirror.trust.nhs.example", "no-index": "false",
        "cert": "/etc/trust/ca.pem", "default-timeout": "180"})
    assert args == ["--index-url", "https://mirror.trust.nhs.example/simple",
                    "--extra-index-url", "https://a.example/s", "--extra-index-url", "https://b.example/s",
                    "--find-links", "/opt/wheels", "--allow-insecure-host", "mirror.trust.nhs.example"]
    assert env == {"SSL_CERT_FILE": "/etc/trust/ca.pem"}
    assert uv_install.uv_options({"no-index": "true", "find-links": "/w"}) == (["--find-links", "/w", "--no-index"], {})
    assert uv_install.uv_options({}) == ([], {})


def test_pips_settings_are_read_from_its_files_and_environment_the_environment_winning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://file.example/simple\n[install]\nfind-links = /from/file\n"
                    "[download]\nfind-links = /not/for/install\n", encoding="utf-8")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    settings = uv_install.pip_settings()
    assert settings["index-url"] == "https://env.example/simple"
    assert settings["find-links"] == "/from/file"


@pytest.mark.skipif(not Path(sys.executable).with_name("uv").exists(),
                    reason="uv is not in the venv (make setup fell back to pip)")
def test_uv_fetches_from_pips_mirror_and_fails_when_it_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mirror that does not answer makes the install fail (and `make setup` fall back to pip): uv never
    goes to PyPI instead. --dry-run: nothing is installed either way."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # the discard port: nothing listens
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    monkeypatch.setenv("UV_NO_CACHE", "1")
    assert uv_install.main(["--dry-run", "-q", "six==1.16.0"]) != 0


@pytest.mark.parametrize("module", ["dbt.cli.main", "dbt.adapters.duckdb.impl",
                                    "great_expectations.core.validation_definition", "pandas.core.frame"])
def test_the_installed_packages_carry_their_bytecode(module: str) -> None:
    # Written at install (uv's --compile-bytecode, pip's default): where PYTHONDONTWRITEBYTECODE is set, a package
    # without it is compiled again by every process that imports it. find_spec runs the parents' __init__ only,
    # not the module itself.
    spec = importlib.util.find_spec(module)
    assert spec and spec.origin and spec.origin.endswith(".py")
    cached = Path(importlib.util.cache_from_source(spec.origin))
    assert cached.exists(), f"no bytecode for {module} ({cached}): `make setup` must install with bytecode"
