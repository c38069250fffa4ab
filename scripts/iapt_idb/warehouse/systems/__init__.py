"""The synthetic clinical systems ``iapt-idb generate --system NAME`` can write.

``lumen_cms`` is the generator's own shape (``warehouse/schema.py``). Every other system is a
deterministic reshape of the Lumen content for the same seed, patient count, period and defect rate:
the Lumen warehouse is generated into a private temporary file beside the output, reshaped into the
output's temporary copy, which then replaces the output; the Lumen file is removed.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..generate import GenerationSummary, generate_warehouse
from . import meridian
from .meridian import CodeTranslationError

__all__ = ["CodeTranslationError", "NAMES", "generate_system", "synthetic_system"]

DEFAULT = "lumen_cms"
# system name -> reshape(lumen warehouse, out) -> rows per table (its label is in its sources YAML)
RESHAPES: dict[str, Callable[[Path, Path], dict[str, int]]] = {meridian.NAME: meridian.reshape}
NAMES: tuple[str, ...] = (DEFAULT, *RESHAPES)


def synthetic_system(requested: str | None) -> str:
    """The synthetic system to write: ``requested``, else IAPT_SOURCE_SYSTEM when it names one, else Lumen CMS.
    A name with no synthetic warehouse is a UserError listing the ones there are."""
    from ...errors import UserError

    name = requested or os.environ.get("IAPT_SOURCE_SYSTEM") or DEFAULT
    if name not in NAMES:
        if requested is None:
            return DEFAULT  # a real system is configured: the synthetic warehouse is still Lumen's
        raise UserError(f"there is no synthetic warehouse for source system {name!r}: choose one of {', '.join(NAMES)}")
    return name


def generate_system(system: str, out: Path, **settings) -> GenerationSummary:  # noqa: ANN003 - generate_warehouse's
    """Write the synthetic warehouse of ``system`` to ``out``; the same settings give the same content."""
    if system == DEFAULT:
        return generate_warehouse(out=Path(out), **settings)
    if system not in RESHAPES:
        raise ValueError(f"no synthetic warehouse for source system {system!r}: choose one of {', '.join(NAMES)}")
    reshape = RESHAPES[system]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".lumen-", dir=out.parent) as tmp:
        summary = generate_warehouse(out=Path(tmp) / "lumen.duckdb", **settings)
        rows = reshape(Path(tmp) / "lumen.duckdb", Path(tmp) / out.name)
        # written whole, then moved into place: a run stopped half-way leaves the previous file
        out.with_name(out.name + ".wal").unlink(missing_ok=True)
        os.replace(Path(tmp) / out.name, out)
    summary.out, summary.rows, summary.system = out, rows, system
    summary.seconds = time.perf_counter() - began
    return summary
