"""The pinned Java classpaths (java/jars.sha256), located under paths.JARS_DIR and checked before use.

Two classpaths, never mixed in one JVM:
  writer   Jackcess 4.0.10 + commons-lang3 + commons-logging (writes and lists .accdb files)
  replica  UCanAccess 4.0.4 + HSQLDB 2.4.1 + Jackcess 2.2.0 + ... (the national platform's reader)

The writer JVM also loads the project's own small helper jar (java/writer-helper, built from source
by ``make jars``). It cannot be pinned by a hash known in advance, so its build stamp is checked
instead: the jar must be the one built, from exactly the sources in java/writer-helper.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from .. import paths
from .errors import AccdbError

WRITER = "writer"
REPLICA = "replica"
PINS_FILE = paths.ROOT / "java" / "jars.sha256"
HELPER_SRC = paths.ROOT / "java" / "writer-helper"
HELPER_DIR = "writer-helper"
HELPER_JAR = "iapt-idb-accdb-helper.jar"
HELPER_STAMP = "BUILD.sha256"


def pins(classpath_name: str) -> dict[str, str]:
    """{jar file name: pinned SHA-256} for one classpath, from java/jars.sha256."""
    out: dict[str, str] = {}
    for line in PINS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        digest, rel = line.split(maxsplit=1)
        folder, _, name = rel.strip().partition("/")
        if folder == classpath_name:
            out[name] = digest
    if not out:
        raise AccdbError(f"{PINS_FILE} pins no jars for the {classpath_name!r} classpath")
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=None)
def classpath(classpath_name: str, jars_dir: Path = paths.JARS_DIR) -> tuple[str, ...]:
    """Absolute jar paths of one classpath, each verified against its pinned SHA-256."""
    folder = jars_dir / classpath_name
    jars: list[str] = []
    for name, digest in sorted(pins(classpath_name).items()):
        jar = folder / name
        if not jar.is_file():
            raise AccdbError(
                f"missing Java library {jar}. Run 'make jars' (or 'bash java/fetch-jars.sh') to fetch "
                "the pinned jars from Maven Central."
            )
        actual = _sha256(jar)
        if actual != digest:
            raise AccdbError(
                f"{jar} does not match its pinned SHA-256 in java/jars.sha256 (expected {digest}, got {actual}). "
                "Delete the .jars folder and run 'make jars' again."
            )
        jars.append(str(jar))
    return tuple(jars)


def versions(classpath_name: str) -> dict[str, str]:
    """{artifact: version} parsed from the pinned jar names, e.g. {'jackcess': '4.0.10', ...}."""
    out: dict[str, str] = {}
    for name in sorted(pins(classpath_name)):
        stem = name.removesuffix(".jar")
        artifact, _, version = stem.rpartition("-")
        out[artifact] = version
    return out


def helper_sources(src: Path = HELPER_SRC) -> list[str]:
    """``sha256sum`` lines for the helper's sources (pom.xml and src/), as java/fetch-jars.sh stamps them."""
    files = sorted([src / "pom.xml"] + [p for p in (src / "src").rglob("*") if p.is_file()],
                   key=lambda p: p.relative_to(src).as_posix().encode())
    return [f"{_sha256(p)}  {p.relative_to(src).as_posix()}" for p in files]


@lru_cache(maxsize=None)
def helper_jar(jars_dir: Path = paths.JARS_DIR, src: Path = HELPER_SRC) -> str:
    """The writer helper jar, checked against its build stamp: built from the current sources, unchanged since."""
    folder = jars_dir / HELPER_DIR
    jar, stamp = folder / HELPER_JAR, folder / HELPER_STAMP
    rebuild = "Run 'make jars' (or 'bash java/fetch-jars.sh') to build it from java/writer-helper (needs a JDK)."
    if not jar.is_file() or not stamp.is_file():
        raise AccdbError(f"missing the writer helper {jar}. {rebuild}")
    lines = [ln for ln in stamp.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if len(lines) < 2 or lines[:-1] != helper_sources(src):
        raise AccdbError(f"the writer helper {jar} was built from other sources than java/writer-helper. {rebuild}")
    digest, _, name = lines[-1].partition("  ")
    if name != HELPER_JAR or _sha256(jar) != digest:
        raise AccdbError(f"{jar} does not match its build stamp {stamp}. Delete the .jars folder and run 'make jars'.")
    return str(jar)


def jvm_classpath(classpath_name: str) -> tuple[str, ...]:
    """Every jar a JVM of one classpath loads, each checked: the pinned jars, and for the writer also the
    project's helper jar (against its build stamp). Call it before any work, to fail early and say what
    to run."""
    pinned = classpath(classpath_name)
    return pinned + (helper_jar(),) if classpath_name == WRITER else pinned
