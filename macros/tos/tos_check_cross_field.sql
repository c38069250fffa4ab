{% macro tos_predicate(pred, alias='t') -%}
    {#- One condition of a cross-field rule. -#}
    {%- set c = tos_col(pred['column'], alias) -%}
    {%- set op = pred['op'] -%}
    {%- if op == 'null' -%}
        {{ c }} is null
    {%- elif op == 'not_null' -%}
        {{ c }} is not null
    {%- elif op == 'in' -%}
        {{ tos_in_list(c, pred['values']) }}
    {%- elif op == 'not_in' -%}
        ({{ c }} is not null and not {{ tos_in_list(c, pred['values']) }})
    {%- elif op == 'null_or_not_in' -%}
        ({{ c }} is null or not {{ tos_in_list(c, pred['values']) }})
    {%- elif op == 'ne_header' -%}
        ({{ c }} is not null and {{ tos_col(pred['other'], 'h') }} is not null and {{ c }} <> {{ tos_col(pred['other'], 'h') }})
    {%- else -%}
        {{ exceptions.raise_compiler_error('unknown predicate op ' ~ op) }}
    {%- endif -%}
{%- endmacro %}


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
