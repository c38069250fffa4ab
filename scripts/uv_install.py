"""`uv pip install` into this Python's environment, from the package sources pip is set up with.

`make setup` installs the pinned packages with uv (much faster than pip), and uv reads none of pip's
configuration. A provider's machine often sends pip to an internal mirror (``index-url`` in pip.conf or
``$PIP_INDEX_URL``), to local wheels (``find-links``) or through a proxy's certificate (``cert``): uv must fetch
from the same places, never from PyPI behind the mirror's back. pip's settings are read with ``pip config list``
(every file and ``$PIP_*`` variable pip reads, in pip's order, the later winning; sections ``global`` and
``install``) and given to uv as its own options.

Usage: .venv/bin/python scripts/uv_install.py ARGS...   (ARGS as for `pip install`; uv beside this Python)
Exits with uv's status: `make setup` falls back to pip when it is not 0.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

# pip option -> uv option; a list option's values are separated by white space, as pip reads them
SINGLE_OPTIONS = {"index-url": "--index-url"}
LIST_OPTIONS = {"extra-index-url": "--extra-index-url", "find-links": "--find-links",
                "trusted-host": "--allow-insecure-host"}
SECTIONS = ("global", "install", ":env:")
TRUE = ("1", "true", "yes", "on")


def pip_settings() -> dict[str, str]:
    """pip's effective settings of the global and install sections (option -> value as pip reads it)."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                         check=True).stdout
    settings: dict[str, str] = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        section, _, option = key.rpartition(".")
        if sep and section in SECTIONS:
            settings[option] = str(ast.literal_eval(value))  # pip prints a Python string literal
    return settings


def uv_options(settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(uv's options, its environment variables) for pip's settings."""
    args: list[str] = []
    for option, flag in SINGLE_OPTIONS.items():
        if settings.get(option):
            args += [flag, settings[option]]
    for option, flag in LIST_OPTIONS.items():
        for value in settings.get(option, "").split():
            args += [flag, value]
    if settings.get("no-index", "").lower() in TRUE:
        args.append("--no-index")
    env = {"SSL_CERT_FILE": settings["cert"]} if settings.get("cert") else {}
    return args, env


def main(argv: list[str]) -> int:
    args, env = uv_options(pip_settings())
    uv = Path(sys.executable).with_name("uv")
    # --native-tls: the system's certificates (and SSL_CERT_FILE's), as pip trusts them, not uv's own.
    # --compile-bytecode: each package's bytecode written now, as pip does; uv leaves it out by default, and
    # where PYTHONDONTWRITEBYTECODE is set (or the environment is read-only) every process then compiles each
    # module it imports again (dbt's and GX's imports twice as long; docs/decisions.md, "Tool chain").
    cmd = [str(uv), "pip", "install", "--native-tls", "--compile-bytecode", "--python", sys.executable, *args, *argv]
    return subprocess.run(cmd, env={**os.environ, **env}).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
