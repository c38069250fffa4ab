{% macro tos_check_consecutive_registration(rule) %}
    {#- A registration that ends should be followed by another one (a different code) starting on the end
        date or up to max_gap_days later, for the same key. -#}
    {%- set p = rule['params'] -%}
    {{ tos_failure(rule, tos_lit(p['end'] ~ ' is filled in but no following registration starts within ' ~ p['max_gap_days'] ~ ' day(s)')) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    where {{ tos_is_date(tos_col(p['end'])) }}
        and not exists (
            select 1 from {{ tos_norm_ref(rule['table_name']) }} as n
            where {{ tos_col(p['key'], 'n') }} = {{ tos_col(p['key']) }}
                and n.tos_row_id <> t.tos_row_id
                and coalesce({{ tos_col(p['code'], 'n') }}, '') <> coalesce({{ tos_col(p['code']) }}, '')
                and {{ tos_is_date(tos_col(p['start'], 'n')) }}
                and {{ tos_try_cast(tos_col(p['start'], 'n'), 'date') }}
                    between {{ tos_try_cast(tos_col(p['end']), 'date') }}
                    and {{ dbt.dateadd('day', p['max_gap_days'], tos_try_cast(tos_col(p['end']), 'date')) }}
        )
{% endmacro %}
