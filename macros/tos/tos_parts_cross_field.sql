{% macro tos_predicate_text(pred) -%}
    {%- set words = {'null': 'is blank', 'not_null': 'is filled in', 'in': 'is ' ~ (pred.get('values', []) | join('/')),
        'not_in': 'is not ' ~ (pred.get('values', []) | join('/')),
        'null_or_not_in': 'is not ' ~ (pred.get('values', []) | join('/')),
        'ne_header': "differs from the header's " ~ pred.get('other', '')} -%}
    {{- pred['column'] ~ ' ' ~ words[pred['op']] -}}
{%- endmacro %}


{% macro tos_parts_cross_field(rule) %}
    {#- Cross-field: FAIL when all predicates hold on the same row (header values via ne_header). -#}
    {%- set preds = rule['params']['predicates'] -%}
    {%- set texts = [] -%}
    {%- set conds = [] -%}
    {%- for pred in preds -%}
        {%- do texts.append(tos_predicate_text(pred)) -%}
        {%- do conds.append(tos_predicate(pred)) -%}
    {%- endfor -%}
    {{ return({
        'cond': conds | join(' and '),
        'message': tos_lit(texts | join(' and ')),
        'header': preds | selectattr('op', 'equalto', 'ne_header') | list | length > 0,
    }) }}
{% endmacro %}
