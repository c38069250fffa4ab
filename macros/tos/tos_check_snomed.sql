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
