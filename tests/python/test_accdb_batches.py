"""The writer's column-wise batch hand-over to Java (java/writer-helper) and its build stamp.

The hand-over (``jackcess_ops.hand_over`` + ``BatchAppender``/``BatchWriter``) must give Jackcess the
same values as the per-value path (``batch_rows`` + ``add_rows``): the files must be byte-identical.
Java runs only in child processes, so the checks run in a spawned Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from iapt_idb.accdb import jars
from iapt_idb.accdb.errors import AccdbError
from iapt_idb.paths import JARS_DIR


def test_helper_jar_is_checked_against_its_build_stamp(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(jars.HELPER_SRC, src)
    shutil.copytree(JARS_DIR / jars.HELPER_DIR, tmp_path / "jars" / jars.HELPER_DIR)
    jar = tmp_path / "jars" / jars.HELPER_DIR / jars.HELPER_JAR
    assert jars.helper_jar.__wrapped__(tmp_path / "jars", src) == str(jar)

    java = next((src / "src").rglob("*.java"))
    java.write_text(java.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(AccdbError, match="built from other sources.*make jars"):
        jars.helper_jar.__wrapped__(tmp_path / "jars", src)
    shutil.rmtree(src)
    shutil.copytree(jars.HELPER_SRC, src)

    jar.write_bytes(jar.read_bytes() + b"x")
    with pytest.raises(AccdbError, match="does not match its build stamp"):
        jars.helper_jar.__wrapped__(tmp_path / "jars", src)
    jar.unlink()
    with pytest.raises(AccdbError, match="missing the writer helper .*make jars"):
        jars.helper_jar.__wrapped__(tmp_path / "jars", src)



def test_make_jars_rebuilds_the_helper_when_a_source_is_added_or_removed(tmp_path: Path) -> None:
    """`make jars` is what the writer's refusal of a stale helper says to run, so it must rebuild then. A
    removed source (a branch switched) leaves no file newer than the stamp: the source folders count too.
    In a copy of the Makefile and java/; `make -n` only prints what it would run."""
    from iapt_idb.paths import ROOT

    for name in ("Makefile", "apt-packages.txt", "pyproject.toml", "requirements.lock"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "java", tmp_path / "java")
    stamps = [tmp_path / ".make" / "system-deps", tmp_path / ".jars" / "writer-helper" / "BUILD.sha256",
              tmp_path / ".jars" / ".verified"]  # each made after the one before it, as make would
    helper = next((tmp_path / "java" / "writer-helper" / "src").rglob("*.java")).parent

    def built_now() -> None:
        for p in [tmp_path, *tmp_path.rglob("*")]:
            os.utime(p, (1_000_000, 1_000_000))
        for i, stamp in enumerate(stamps):
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.touch()
            os.utime(stamp, (2_000_000 + i, 2_000_000 + i))

    def rebuilds() -> bool:
        plan = subprocess.run(["make", "-n", "jars"], cwd=tmp_path, capture_output=True, text=True, check=True)
        return "fetch-jars.sh" in plan.stdout

    built_now()
    assert not rebuilds()
    removed = sorted(helper.glob("*.java"))[0]
    removed.unlink()  # the folder's time is now, later than the stamps
    assert rebuilds()
    built_now()
    assert not rebuilds()
    (helper / "Extra.java").write_text("final class Extra {\n}\n", encoding="utf-8")
    assert rebuilds()


def test_every_jvm_loads_exactly_its_checked_jars(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer JVM gets the pinned writer jars plus the helper; the replica JVM only its pinned jars. A
    missing helper stops the writer (and only the writer) before any work, saying what to run."""
    writer, replica = jars.jvm_classpath(jars.WRITER), jars.jvm_classpath(jars.REPLICA)
    assert writer == jars.classpath(jars.WRITER) + (jars.helper_jar(),)
    assert replica == jars.classpath(jars.REPLICA) and not any(jars.HELPER_JAR in j for j in replica)

    def missing() -> str:
        raise AccdbError("missing the writer helper x. Run 'make jars'")

    monkeypatch.setattr(jars, "helper_jar", missing)
    with pytest.raises(AccdbError, match="make jars"):
        jars.jvm_classpath(jars.WRITER)
    assert jars.jvm_classpath(jars.REPLICA) == replica


_SCRIPT = r'''
import hashlib, sys
from pathlib import Path
import duckdb, pyarrow as pa
from iapt_idb.accdb import jackcess_ops as jo
from iapt_idb.accdb.errors import AccdbError
from iapt_idb.accdb.physical import PhysColumn, PhysTable

tmp = Path(sys.argv[1])
T = PhysTable("T", (PhysColumn("Txt", "TEXT", 8), PhysColumn("Memo", "MEMO"), PhysColumn("Num", "LONG"),
                    PhysColumn("Dbl", "DOUBLE"), PhysColumn("Dt", "SHORT_DATE_TIME"), PhysColumn("Nul", "TEXT", 5),
                    PhysColumn("Code", "TEXT", 2), PhysColumn("Small", "INT")))
n = 2500
txt = [None if i % 7 == 3 else ["", "é", "ab cd ", "😀x", "Ünïcødé", "x" * 8][i % 6] for i in range(n)]
memo = [None if i % 5 == 0 else ("memo " * (i % 40)) + "ß€" for i in range(n)]
num = [None if i % 11 == 0 else (i * 7919) % 4_000_000_000 - 2_000_000_000 for i in range(n)]
dbl = [None if i % 13 == 0 else i / 3.0 for i in range(n)]
dt = [None if i % 17 == 0 else -2209161600000 + i * 86_400_123 for i in range(n)]
code = ["A1" if i < 1200 else "B2" for i in range(n)]
small = [None if i % 3 == 0 else i % 30000 for i in range(n)]
batch = pa.RecordBatch.from_arrays(
    [pa.array(txt, pa.string()), pa.array(memo, pa.large_string()), pa.array(num, pa.int64()),
     pa.array(dbl, pa.float64()), pa.array(dt, pa.int64()), pa.nulls(n), pa.array(code, pa.string()),
     pa.array(small, pa.int16()).dictionary_encode()],  # a type the SQL never gives: converted value by value
    names=[c.name for c in T.columns])
parts = [batch.slice(0, 1000), batch.slice(1000, 1), batch.slice(1001)]  # non-zero array offsets


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(mode):
    out = tmp / f"{mode}.accdb"
    db = jo.create_db(out, [T])
    table, first = db.getTable("T"), 0
    appender = jo._java()["BatchAppender"](table)
    for part in parts:
        if mode == "per_value":
            jo.add_rows(table, jo.batch_rows(part), first, "T")
        else:
            jo.hand_over(appender, part)
            appender.append()
        first += part.num_rows
    jo.stamp_creation_dates(db, ["T"], 1_790_812_800_000)
    db.flush()
    db.close()
    return sha(out)


assert write("per_value") == write("columnwise"), "the two paths wrote different files"

# The background writer: same bytes, and a row Jackcess refuses is named by table and row.
class Plan:
    def __init__(self, name, sql):
        self.table = self.file_table = name
        self.sql = sql

    def checked_write_sql(self):
        return self.sql, False

    def unstorable_in(self, batch):
        return False


con = duckdb.connect()
con.register("b", pa.Table.from_batches([batch]))
out = tmp / "writer.accdb"
db = jo.create_db(out, [T])
assert jo.write_rows(db, con, [Plan("T", "SELECT * FROM b")], False) == {"T": n}
jo.stamp_creation_dates(db, ["T"], 1_790_812_800_000)
db.flush()
db.close()
assert sha(out) == sha(tmp / "per_value.accdb"), "the background writer wrote a different file"

U = PhysTable("U", (PhysColumn("A", "TEXT", 5),))
db = jo.create_db(tmp / "refused.accdb", [T, U])
bad = "SELECT CASE WHEN i = 23456 THEN 'abcdefgh' ELSE 'x' END AS A FROM range(30000) r(i)"
try:
    jo.write_rows(db, con, [Plan("T", "SELECT * FROM b"), Plan("U", bad)], False)
except AccdbError as exc:
    print("REFUSED", exc)
finally:
    db.close()
'''


def test_columnwise_handover_writes_the_same_bytes_and_names_refused_rows(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(_SCRIPT), str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "REFUSED U, row 23456 (0-based): Jackcess refused the row: " in res.stdout, res.stdout + res.stderr
    assert "Text is wrong length for TEXT column, max 5" in res.stdout
