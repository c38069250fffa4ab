"""One module per CLI sub-command; see iapt_idb.cli."""
