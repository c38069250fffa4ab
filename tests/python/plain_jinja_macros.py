"""The project's macro files rendered by plain Jinja, without a dbt run (which parses the whole project).

For macros that use nothing of dbt's context but ``return`` and ``modules.re``, given here as dbt gives them
(``return``: a call that ends the macro with its value, by raising). ``macro_module`` defines every macro of a
file (none is called); ``returned`` calls one and hands back what it returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, NoReturn

import jinja2

from iapt_idb import paths


class _Returned(Exception):
    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value


def _return(value: object) -> NoReturn:
    raise _Returned(value)


def macro_module(relative_path: str) -> Any:
    """The macros of ``macros/<relative_path>`` as attributes of a Jinja module."""
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals["return"] = _return
    env.globals["modules"] = SimpleNamespace(re=re)
    source = (paths.ROOT / "macros" / relative_path).read_text(encoding="utf-8")
    return env.from_string(source).module


def returned(macro: Callable[..., Any], *args: Any) -> Any:
    """What ``macro(*args)`` passed to ``return``; an error when it returned nothing."""
    try:
        macro(*args)
    except _Returned as done:
        return done.value
    raise AssertionError(f"{macro} returned no value for {args!r}")
