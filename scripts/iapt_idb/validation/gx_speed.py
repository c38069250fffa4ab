"""Exact speed-ups for the GX run (issue 7) that do not change what GX computes.

``blank_regex_on_arrow``: GX's pandas regex metrics run ``column.astype(str).str.contains(regex)``. pandas
runs a regex on its Arrow-backed ``str`` dtype with Arrow's RE2, except for patterns whose meaning differs
between RE2 and Python's ``re``; ``\\s`` is one (RE2's ``\\s`` lacks ``\\v`` and ``\\x1c``-``\\x1f``), so the
not_blank expectation's ``^\\s*$`` fell back to a Python ``re.search`` per value: about half the CPU time
of the whole GX run at 500k patients. On ASCII-only data Python's ``\\s`` is exactly the class
``[\\t\\n\\v\\f\\r\\x1c-\\x1f ]`` (checked in the tests against ``re`` for all 128 code points), so for that one
pattern, on an array that is all ASCII, the context manager hands pandas the spelled-out class, which RE2
runs natively (pandas itself still falls back to ``re`` when a value holds a newline, as ``$`` differs
there). Anything else, or non-ASCII data, goes through pandas unchanged. The expectation (its regex, its
rendering, its counts and sample values) is unchanged; only the engine that evaluates it differs.

``memoized_expectation_configuration``: see its doc; GX's own per-expectation bookkeeping, ~20% of a run.

Both are context managers that patch one attribute while active and restore it on exit; if a patch is
already in place (another thread), they leave it to its owner. Neither is needed for correct results, so
if pandas or GX change shape they step aside (yield False) and GX runs as it is.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

BLANK = r"^\s*$"
# Python's \s restricted to ASCII (code points 9-13, 28-31 and the space), spelled out for RE2.
BLANK_ASCII = r"^[\t\n\x0b\x0c\r\x1c-\x1f ]*$"

_lock = threading.Lock()
_depth = 0
_original: Any = None


def _patched_contains(original: Any) -> Any:
    import inspect

    import pyarrow.compute as pc

    signature = inspect.signature(original)

    def _str_contains(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs)
        call.apply_defaults()
        a = call.arguments
        data = getattr(self, "_pa_array", None)
        if (a.get("pat") == BLANK and a.get("regex") is True and a.get("case") is True and not a.get("flags")
                and data is not None and pc.all(pc.string_is_ascii(data)).as_py() is not False):
            a["pat"] = BLANK_ASCII
        return original(*call.args, **call.kwargs)

    return _str_contains


@contextlib.contextmanager
def blank_regex_on_arrow() -> Iterator[bool]:
    """While active, ``str.contains(r"^\\s*$")`` on all-ASCII Arrow-backed strings runs in RE2 (see the
    module doc). Yields whether the speed-up is in place (False on a pandas without the hook)."""
    global _depth, _original
    try:
        from pandas.core.arrays.string_arrow import ArrowStringArray
    except ImportError:  # pragma: no cover - pandas without Arrow strings
        yield False
        return
    if "_str_contains" not in ArrowStringArray.__dict__:
        yield False  # pragma: no cover - another pandas layout: run as pandas does
        return
    with _lock:
        if _depth == 0:
            _original = ArrowStringArray.__dict__["_str_contains"]
            ArrowStringArray._str_contains = _patched_contains(_original)
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                ArrowStringArray._str_contains = _original
                _original = None


_LEAVES = (str, int, float, bool, type(None))


def _fresh(value: Any) -> Any:
    """New containers, shared leaves: what pydantic's ``.dict()`` hands out on every call."""
    if isinstance(value, dict):
        return value.__class__((k, v if type(v) in _LEAVES else _fresh(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        if all(type(v) in _LEAVES for v in value):
            return value.__class__(value)
        return value.__class__(_fresh(v) for v in value)
    return value


@contextlib.contextmanager
def memoized_expectation_configuration() -> Iterator[bool]:
    """While active, ``Expectation.configuration`` is computed once per expectation object and state.

    GX's validator asks an expectation for its ``configuration`` ~100 times per validation (each time a
    pydantic ``.dict()`` plus an ``ExpectationConfiguration``), the largest share of GX's per-expectation
    overhead. Here the first answer for an object is kept with a snapshot of the object's fields; a later
    call on the same, unchanged object gets a new ``ExpectationConfiguration`` with the same content
    (new containers, as pydantic's ``.dict()`` gives) and a changed object is computed afresh. Objects
    are held (not just their ids) until the block ends, so an id cannot be reused meanwhile."""
    try:
        from great_expectations.expectations.expectation import Expectation
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    except ImportError:  # pragma: no cover
        yield False
        return
    prop = Expectation.__dict__.get("configuration")
    if not isinstance(prop, property) or prop.fget is None:
        yield False  # pragma: no cover - another GX layout: run as GX does
        return
    compute = prop.fget
    cache: dict[int, tuple[Any, dict[str, Any], dict[str, Any]]] = {}

    def configuration(self: Any) -> Any:
        hit = cache.get(id(self))
        try:
            fresh_hit = hit is not None and hit[0] is self and bool(hit[1] == self.__dict__)
        except Exception:  # a field whose == is not a plain bool: no shortcut
            fresh_hit = False
        if fresh_hit:
            assert hit is not None
            parts = hit[2]
            return ExpectationConfiguration(
                type=parts["type"], kwargs=_fresh(parts["kwargs"]), meta=_fresh(parts["meta"]),
                notes=_fresh(parts["notes"]), description=parts["description"], severity=parts["severity"],
                id=parts["id"], rendered_content=_fresh(parts["rendered_content"]),
            )
        cfg = compute(self)
        cache[id(self)] = (self, _fresh(self.__dict__), {
            "type": cfg.type, "kwargs": _fresh(cfg.kwargs), "meta": _fresh(cfg.meta), "notes": _fresh(cfg.notes),
            "description": cfg.description, "severity": cfg.severity, "id": cfg.id,
            "rendered_content": _fresh(cfg.rendered_content),
        })
        return cfg

    configuration._iapt_memo = True  # type: ignore[attr-defined]
    with _lock:
        if getattr(prop.fget, "_iapt_memo", False):  # already patched by another block: leave it to that one
            mine = False
        else:
            Expectation.configuration = property(configuration, doc=prop.__doc__)
            mine = True
    try:
        yield True
    finally:
        if mine:
            with _lock:
                Expectation.configuration = prop
        cache.clear()
