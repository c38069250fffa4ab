"""sqlfluff plugin: the project's Jinja templater (``templater = iapt_jinja`` in .sqlfluff).

It is sqlfluff's own Jinja templater, with one difference: each macro file's Jinja source is compiled to Python
once per lint process, not again for every SQL file linted. sqlfluff builds a new Jinja environment for each
file and compiles every file of ``load_macros_from_path`` into it (``env.from_string``); for a validation model
that is the 30 files of macros/tos, about two CPU-seconds a file, most of the lint. Here the compiled code is
kept, keyed by the source and the environment's syntax, and bound to each file's own environment and context
with Jinja's ``Template.from_code``, as ``from_string`` does: the macros, and so the lint's findings, are the
same (docs/decisions.md has the figures). Registered through the ``sqlfluff`` entry point in pyproject.toml.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

from jinja2 import Environment
from jinja2.exceptions import UndefinedError
from jinja2.runtime import Macro
from sqlfluff.core.plugin import hookimpl
from sqlfluff.core.templaters.builtins.dbt import DbtMacroWrapper
from sqlfluff.core.templaters.jinja import JinjaTemplater

_COMPILED: dict[tuple[Any, ...], CodeType] = {}
# What Jinja's compiled code depends on besides the source: the settings its lexer is cached by
# (jinja2.lexer.get_lexer), and those its code generator reads.
_CODE_SETTINGS = (
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline",
    "optimized", "is_async", "autoescape", "finalize",
)


def _compiled(env: Environment, source: str) -> CodeType:
    """Jinja's compiled code for source in env's settings, compiled once."""
    key = (source, type(env), *(getattr(env, a) for a in _CODE_SETTINGS), tuple(sorted(env.extensions)))
    code = _COMPILED.get(key)
    if code is None:
        code = _COMPILED[key] = env.compile(source)
    return code


class ProjectJinjaTemplater(JinjaTemplater):
    """sqlfluff's Jinja templater, compiling each macro file once (its settings: [sqlfluff:templater:iapt_jinja])."""

    name = "iapt_jinja"

    @staticmethod
    def _extract_macros_from_template(template: str, env: Environment, ctx: dict[str, Any]) -> dict[str, Any]:
        """The macros a macro file defines, bound to this file's environment and context (as the base class
        does with ``env.from_string(template, globals=ctx)``, which compiles the source each time)."""
        module = env.template_class.from_code(env, _compiled(env, template), env.make_globals(ctx), None)
        macros: dict[str, Any] = {}
        try:
            for name in module.module.__dict__:
                value = getattr(module.module, name)
                if isinstance(value, Macro):
                    macros[name] = DbtMacroWrapper(value)
        except UndefinedError:
            pass  # a macro file reading an undefined variable at its top level: as the base class, left out
        return macros


@hookimpl
def get_templaters() -> list[type[JinjaTemplater]]:
    return [ProjectJinjaTemplater]
