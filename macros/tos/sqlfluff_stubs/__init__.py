"""Parse-time stand-ins for dbt's Jinja context, for linting models/validation with sqlfluff's jinja templater.

sqlfluff (templater = jinja, see models/validation/.sqlfluff) renders the models as dbt does at parse time
(``execute`` is false, so no catalogue query runs); these objects only need to produce well-formed SQL.
Not used by dbt (macro-paths hold only .sql files).
"""

import datetime as _dt
import types as _types

execute = False
run_started_at = _dt.datetime(2000, 1, 1)
modules = _types.SimpleNamespace(datetime=_dt)


def _null(*args, **kwargs):
    return "null"


class _Adapter:
    @staticmethod
    def quote(name):
        return '"' + str(name) + '"'

    @staticmethod
    def dispatch(name, namespace=None):
        if name == "tos_norm_narrow":  # a relation, not a value
            return lambda table_name, alias, uses: '"' + str(table_name) + '"'
        return _null


adapter = _Adapter()


class _Dbt:
    @staticmethod
    def type_string():
        return "varchar"

    @staticmethod
    def type_bigint():
        return "bigint"

    dateadd = staticmethod(_null)
    position = staticmethod(_null)
    right = staticmethod(_null)
    split_part = staticmethod(_null)
    listagg = staticmethod(_null)


dbt = _Dbt()


def run_query(sql):
    return []


def fromjson(text):
    import json

    return json.loads(text)


class _Relation:
    @staticmethod
    def create(database=None, schema=None, identifier=None):
        return ".".join(p for p in (schema, identifier) if p)


api = _types.SimpleNamespace(Relation=_Relation)
target = _types.SimpleNamespace(database="iapt", schema="main")
