{% macro tos_parts_length(rule) %}
    {#- Length: a populated value must have min..max characters (nulls pass). -#}
    {%- set p = rule['params'] -%}
    {%- set c = p['column'] -%}
    {{ return({
        'cond': tos_col(c) ~ ' is not null and length(' ~ tos_col(c) ~ ') not between ' ~ p['min'] ~ ' and ' ~ p['max'],
        'message': tos_lit(c ~ ' has ') ~ " || cast(length(" ~ tos_col(c) ~ ") as " ~ dbt.type_string() ~ ") || "
            ~ tos_lit(' characters; ' ~ p['min'] ~ '-' ~ p['max'] ~ ' allowed'),
    }) }}
{% endmacro %}
