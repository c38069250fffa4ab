{#- Generic test: no two rows share the same values of `columns` (no dbt Hub packages here). -#}
{% test measures_unique_combination(model, columns) %}
    select
        {{ columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
