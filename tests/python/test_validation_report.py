"""The validation report files: validation_report.json is exactly what json.dumps(indent=1, sort_keys=True)
writes, through report.failures_json's faster path."""

from __future__ import annotations

import json
import random

from iapt_idb.validation import report

TRICKY = ["", "plain", 'quote " and \\ backslash', "tab\tnew\nline\r", "\x00\x1f\x7f", "café £ – ‘x’",
          "😀 outside the BMP", "</script>", "IDS00111", "LocalPatientId=LP1;ServiceRequestId=SR/1"]


def _failure(rng: random.Random) -> dict[str, str]:
    return {c: rng.choice(TRICKY) for c in report.REPORT_COLUMNS}


def test_failures_json_is_json_dumps_byte_for_byte() -> None:
    rng = random.Random(7)
    for n in (0, 1, 2, 500):
        failures = [_failure(rng) for _ in range(n)]
        assert report.failures_json(failures) == json.dumps(failures, indent=1, sort_keys=True)
    # anything but flat text records goes through json.dumps itself
    odd = [{**_failure(rng), "records": 3}, {"rule_code": None}]
    assert report.failures_json(odd) == json.dumps(odd, indent=1, sort_keys=True)
