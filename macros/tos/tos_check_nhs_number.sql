{% macro tos_check_nhs_number(rule) %}
    {#- NHS number: 10 digits, modulus-11 check digit (11 -> 0, 10 never valid), and not a number whose
        first five digits are the last five reversed. The number itself is never printed. -#}
    {%- set c = tos_col(rule['params']['column']) -%}
    {%- set terms = [] -%}
    {%- for i in range(1, 10) -%}
        {%- do terms.append('(ascii(substr(' ~ c ~ ', ' ~ i ~ ', 1)) - 48) * ' ~ (11 - i)) -%}
    {%- endfor -%}
    {%- set check_digit = '(11 - (' ~ (terms | join(' + ')) ~ ') % 11)' -%}
    {{ tos_failure(rule, tos_lit('NHS number fails the NHS number check (10 digits, modulus-11 check digit)')) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    where {{ c }} is not null
        and not coalesce(
            {{ tos_regex_match(c, '^[0-9]{10}$') }}
            and (case when {{ check_digit }} = 11 then 0 else {{ check_digit }} end) = ascii(substr({{ c }}, 10, 1)) - 48
            and substr({{ c }}, 1, 5) <> reverse(substr({{ c }}, 6, 5)),
            false)
{% endmacro %}
