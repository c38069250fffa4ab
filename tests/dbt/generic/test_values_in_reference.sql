{#- Every non-empty value of the column is a code of the national code list seed `reference`
    (seeds/reference/ref_<stem>.csv) that is still valid in the reporting period. Returns the
    offending values. -#}
{% test values_in_reference(model, column_name, reference) %}

select tested.{{ column_name }} as invalid_code
from {{ model }} as tested
left join {{ ref(reference) }} as reference_list
    on {{ reference_code_valid('tested.' ~ column_name, 'reference_list') }}
where
    tested.{{ column_name }} is not null
    and reference_list.code is null

{% endtest %}
