"""The national-scale benchmark (`make bench`): not a test; it prints figures and PASS/FAIL per target.

- ``harness``: the command (``python -m iapt_idb.bench``), phases in rounds, targets, the table and JSON;
- ``phases``: one phase per child process (``python -m iapt_idb.bench.phases``);
- ``proc``: the child process and its peak memory;
- ``raw``: the raw Jackcess baseline; ``writer``: the IDB writer alone (``python -m iapt_idb.bench.writer``).
"""
