"""Developer tools that are not part of the monthly job (run with ``python -m iapt_idb.tools.<name>``)."""
