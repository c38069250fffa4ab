"""The local history of submissions: each exported month's IDB with its manifest, validation summary,
rule failures, headline measures and a digest of every row by record key, marked primary or refresh.

``store``    where records live, writing one atomically, finding and checking one
``digests``  one SHA-256 per exported row, named by the row's record key (no patient value leaves DuckDB)
``compare``  two records side by side: rows added, removed and changed, rule failures fixed and
             introduced, the change in each headline measure
"""
