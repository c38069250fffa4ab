{% macro tos_regex_extract(expr, pattern) %}
    {{- adapter.dispatch('tos_regex_extract', 'iapt_idb')(expr, pattern) -}}
{% endmacro %}

{% macro default__tos_regex_extract(expr, pattern) -%}
    regexp_extract({{ expr }}, {{ tos_lit(pattern) }})
{%- endmacro %}

{% macro tos_verhoeff_tables() %}
    {#- Verhoeff: multiplication table of the dihedral group D5 (d) and the position permutations (p). -#}
    {{ return({
        'd': [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],
              [4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],
              [8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]],
        'p': [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],
              [9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]],
    }) }}
{% endmacro %}


{% macro tos_snomed_ctes(values_sql) -%}
    {#- CTEs tos_sct_ids (candidate identifiers) and tos_sct_valid (those with a valid Verhoeff check digit
        and a concept partition identifier 00/10). values_sql selects one column named v. The check digit is
        computed once per distinct identifier. Callers open the WITH as "with recursive" (the portable
        version recurses over the digits). -#}
    tos_sct_ids as (
        select distinct {{ tos_regex_extract('v', '^[0-9]+') }} as sct_id
        from ({{ values_sql }}) as vals
        where v is not null
    ),
    {{ adapter.dispatch('tos_sct_valid_ctes', 'iapt_idb')() }}
{%- endmacro %}


{% macro duckdb__tos_sct_valid_ctes() -%}
    {#- The check digit as one fold over the digits (no recursion): the last digit is position 0. -#}
    {%- set v = tos_verhoeff_tables() -%}
    tos_sct_valid as (
        select sct_id from tos_sct_ids
        where
            length(sct_id) between 6 and 18
            and substr(sct_id, length(sct_id) - 2, 2) in ('00', '10')
            and list_reduce(
                list_transform(
                    range(length(sct_id)),
                    lambda i: {{ v['p'] }}[(i % 8) + 1][ascii(substr(sct_id, length(sct_id) - i::integer, 1)) - 47]
                ),
                lambda a, b: {{ v['d'] }}[a + 1][b + 1]
            ) = 0
    )
{%- endmacro %}


{% macro default__tos_sct_valid_ctes() -%}
    {%- set v = tos_verhoeff_tables() -%}
    tos_sct_d (a, b, val) as (
        values {% for row in v['d'] %}{% set i = loop.index0 %}{% for x in row %}({{ i }}, {{ loop.index0 }}, {{ x }}){{ ', ' if not loop.last }}{% endfor %}{{ ', ' if not loop.last }}{% endfor %}
    ),
    tos_sct_p (i, digit, val) as (
        values {% for row in v['p'] %}{% set i = loop.index0 %}{% for x in row %}({{ i }}, {{ loop.index0 }}, {{ x }}){{ ', ' if not loop.last }}{% endfor %}{{ ', ' if not loop.last }}{% endfor %}
    ),
    tos_sct_verhoeff (sct_id, pos, chk) as (
        select sct_id, 0, 0 from tos_sct_ids where length(sct_id) between 6 and 18
        union all
        select r.sct_id, r.pos + 1, d.val
        from tos_sct_verhoeff as r
        inner join tos_sct_p as p
            on p.i = r.pos % 8 and p.digit = ascii(substr(r.sct_id, length(r.sct_id) - r.pos, 1)) - 48
        inner join tos_sct_d as d on d.a = r.chk and d.b = p.val
        where r.pos < length(r.sct_id)
    ),
    tos_sct_valid as (
        select sct_id from tos_sct_verhoeff
        where pos = length(sct_id) and chk = 0 and substr(sct_id, length(sct_id) - 2, 2) in ('00', '10')
    )
{%- endmacro %}


{% macro tos_snomed_ok(expr, min_len, max_len) -%}
    {#- A SNOMED CT identifier, or an expression whose focus concept (leading identifier) is valid. -#}
    (length({{ expr }}) between {{ min_len }} and {{ max_len }}
        and {{ tos_regex_match(expr, '^[0-9]{6,18}([^0-9].*)?$') }}
        and {{ tos_regex_extract(expr, '^[0-9]+') }} in (select sct_id from tos_sct_valid))
{%- endmacro %}


{% macro tos_check_snomed(rule) %}
    {#- SNOMED CT: digits with a valid Verhoeff check digit and a concept partition identifier; for an
        expression (longer than 18 or with other characters) the focus concept must be valid. -#}
    {%- set p = rule['params'] -%}
    {%- set c = tos_col(p['column']) -%}
    with recursive {{ tos_snomed_ctes('select ' ~ tos_col(p['column'], 's') ~ ' as v from ' ~ tos_norm_ref(rule['table_name']) ~ ' as s') }}
    {{ tos_failure(rule, tos_value_text(p['column']) ~ " || " ~ tos_lit(' in ' ~ p['column'] ~ ' is not a valid SNOMED CT identifier (check digit / partition)')) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    where {{ c }} is not null and not coalesce({{ tos_snomed_ok(c, p['min'], p['max']) }}, false)
{% endmacro %}
