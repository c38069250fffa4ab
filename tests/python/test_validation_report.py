"""The validation report files: validation_report.json is exactly what json.dumps(indent=1, sort_keys=True)
writes, through report.failures_json's faster path."""

from __future__ import annotations

import json
import random

from iapt_idb.validation import report

TRICKY = ["", "plain", 'quote " and \\ backslash', "tab\tnew\nline\r", "\x00\x1f\x7f", "café £ – ‘x’",
          "😀 outside the BMP", "</script>", "IDS00111", "LocalPatientId=LP1;ServiceRequestId=SR/1"]


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
