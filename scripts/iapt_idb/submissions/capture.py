"""What an export puts in its submission record besides the IDB: the validation reports of the exported
marts, the headline measures and the row digests, all read from the target DB the export wrote from."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import UserError


def _excluded_rows(idb_copy_folder: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for p in sorted(idb_copy_folder.glob("*.excluded.csv")):
        with p.open(newline="", encoding="utf-8") as f:
            rows += [{"table": r["table"], "row": int(r["row"])} for r in csv.DictReader(f)]
    return rows


def filler(target_db: Path, period: str, sources: dict[str, str],
           report_dir: Path | None = None) -> Callable[[Path], None]:
    """``fill(record_folder)`` for ``store.record_submission``, reading ``target_db`` (marts and the
    validation tables the export's verdict left there; read-only). ``report_dir``: a finished validation
    report of the same marts (summary.json, validation_report.csv) to copy instead of the validation tables."""

    def fill(rec: Path) -> None:
        import duckdb

        from .. import ods
        from ..commands.measures import headline_measures
        from ..validation import engine, report
        from .digests import write_digests

        engine.wait_closed()
        try:
            measures = headline_measures(target_db, period)
        except UserError:
            measures = []  # the measures were not built (e.g. a build that selected only the IDB marts)
        (rec / "measures.json").write_text(json.dumps(measures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        con = duckdb.connect(str(target_db), read_only=True)
        try:
            (rec / "validation").mkdir()
            if report_dir is not None:
                for name in (report.SUMMARY, *report.REPORT_FILES):
                    shutil.copyfile(report_dir / name, rec / "validation" / name)
            else:
                try:
                    data = report.read_results_from(con)
                except duckdb.Error:
                    raise UserError(f"{target_db} holds no validation results for the export to record; run the "
                                    "export again (it validates the marts first)") from None
                report.write_reports(rec / "validation", data, [], period=period, source="marts",
                                     not_checked=ods.not_checked(None))
            write_digests(con, sources, _excluded_rows(rec / "idb"), rec / "rows")
        finally:
            con.close()

    return fill
