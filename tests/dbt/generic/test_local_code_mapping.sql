{#- A local-to-national code mapping seed (map_<code set>) is usable: every row has a local code, no local
    code is listed twice, and every local code maps to a national code of the code list seed `reference`
    (seeds/reference/ref_<stem>.csv) that is valid in the reporting period. The four checks are one test of
    the seed, not four column tests, because every test is a node that dbt parses and runs in each build.
    Returns one row per problem, which `problem` names. -#}
{% test local_code_mapping(model, reference) %}

select
    local_code,
    national_code,
    'no local code' as problem
from {{ model }}
where local_code is null

union all

select
    local_code,
    min(national_code) as national_code,
    'local code listed more than once' as problem
from {{ model }}
where local_code is not null
group by local_code
having count(*) > 1

union all

select
    local_code,
    national_code,
    'no national code' as problem
from {{ model }}
where national_code is null

union all

select
    mapping.local_code,
    mapping.national_code,
    'not a code of {{ reference }} valid in the period' as problem
from {{ model }} as mapping
left join {{ ref(reference) }} as reference_list
    on {{ reference_code_valid('mapping.national_code', 'reference_list') }}
where
    mapping.national_code is not null
    and reference_list.code is null

{% endtest %}
