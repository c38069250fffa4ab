"""Predict the national landing platform's verdict on an IAPT v2.1 IDB.

- ``catalogue``: the TOS rules catalogue (``seeds/tos/tos_rules.csv``), generated from the spec.
- dbt (``macros/tos``, ``models/validation``): every implemented rule run in SQL, the cascade, the summary.
- ``gx``: Great Expectations suites generated from the same catalogue (column-level rules).
- ``api``: ``run_validation`` and ``export_verdict`` for the CLI and the other commands.
"""
