{% macro tos_parts_regex(rule) %}
    {#- Format: a populated value must match the pattern (fail_on no_match), or must not (fail_on match). -#}
    {%- set p = rule['params'] -%}
    {%- set c = p['column'] -%}
    {%- set fails_on_match = p.get('fail_on') == 'match' -%}
    {{ return({
        'cond': tos_col(c) ~ ' is not null and ' ~ ('' if fails_on_match else 'not ') ~ tos_regex_match(tos_col(c), p['pattern']),
        'message': tos_value_text(c) ~ " || " ~ tos_lit(' in ' ~ c ~ (' matches ' if fails_on_match else ' does not match ') ~ p['pattern']),
    }) }}
{% endmacro %}
