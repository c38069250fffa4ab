"""The validation report files: validation_report.json is exactly what json.dumps(indent=1, sort_keys=True)
writes, and validation_report.csv what csv.writer writes, through report.failures_json's and
report.failures_csv's faster paths."""

from __future__ import annotations

import csv
import io
import json
import random

from iapt_idb.validation import report

TRICKY = ["", "plain", 'quote " and \\ backslash', "tab\tnew\nline\r", "\x00\x1f\x7f", "café £ – ‘x’",
          "😀 outside the BMP", "</script>", "IDS00111", "LocalPatientId=LP1;ServiceRequestId=SR/1",
          "2 rows share LocalPatientId, ServiceRequestId", "carriage\rreturn", " leading and trailing ", "'quoted'"]


def _failure(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.choice(TRICKY) for _ in report.REPORT_COLUMNS)


def _dumps(rows: list[tuple]) -> str:
    return json.dumps([dict(zip(report.REPORT_COLUMNS, r)) for r in rows], indent=1, sort_keys=True)


def test_failures_json_is_json_dumps_byte_for_byte() -> None:
    rng = random.Random(7)
    for n in (0, 1, 2, 500):
        failures = [_failure(rng) for _ in range(n)]
        assert report.failures_json(failures) == _dumps(failures)
    # anything but text values goes through json.dumps itself
    odd = [_failure(rng), (None, "warning", "", "", "", ""), (*_failure(rng)[:5], 3)]
    assert report.failures_json(odd) == _dumps(odd)


def _written(rows: list[tuple]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(report.REPORT_COLUMNS)
    writer.writerows(rows)
    return buf.getvalue()


def test_failures_csv_is_csv_writer_byte_for_byte() -> None:
    rng = random.Random(11)
    for n in (0, 1, 2, 500):
        failures = [_failure(rng) for _ in range(n)]
        assert report.failures_csv(failures) == _written(failures)
    # rows the fast path takes and rows it must leave to the writer, side by side; and anything but text
    plain = ("IDS10104", "record_reject", "IDS101Referral", "ServiceRequestId=SR1", "ServiceRequestId", "blank")
    odd = [plain, (*plain[:5], 'say "no"'), (*plain[:5], "a, b"), (*plain[:5], "line\nbreak"), plain,
           (None, "warning", "", "", "", ""), (*plain[:5], 3)]
    assert report.failures_csv(odd) == _written(odd)
