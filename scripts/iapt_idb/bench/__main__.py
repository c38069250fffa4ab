"""``python -m iapt_idb.bench``: run the benchmark (see ``harness``)."""

import sys

from .harness import main

sys.exit(main())
