{% macro tos_parts_nhs_number(rule) %}
    {#- NHS number: 10 digits, modulus-11 check digit (11 -> 0, 10 never valid), and not a number whose
        first five digits are the last five reversed. The number itself is never printed. -#}
    {%- set c = tos_col(rule['params']['column']) -%}
    {#- the ten digits as one integer: digit i (1-based) is (n / 10^(10-i)) % 10 -#}
    {%- set n = tos_try_cast(c, dbt.type_bigint()) -%}
    {%- set terms = [] -%}
    {%- for i in range(1, 10) -%}
        {%- do terms.append('(' ~ tos_int_div(n, 10 ** (10 - i)) ~ ' % 10) * ' ~ (11 - i)) -%}
    {%- endfor -%}
    {#- 11 - (sum mod 11), with 11 -> 0 (10 stays 10, which no digit equals): the sum is computed once -#}
    {%- set check_digit = '((11 - (' ~ (terms | join(' + ')) ~ ') % 11) % 11)' -%}
    {%- set cond -%}
        {{ c }} is not null
        and not coalesce(
            {{ tos_regex_match(c, '^[0-9]{10}$') }}
            and {{ check_digit }} = {{ n }} % 10
            and substr({{ c }}, 1, 5) <> reverse(substr({{ c }}, 6, 5)),
            false)
    {%- endset -%}
    {{ return({
        'cond': cond,
        'message': tos_lit('NHS number fails the NHS number check (10 digits, modulus-11 check digit)'),
    }) }}
{% endmacro %}
