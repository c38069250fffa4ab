-- IDS007DisabilityType: disabilities of in-scope patients.
select
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast({{ national_or_local('disability') }} as {{ sql_type('string') }}) as DisabCode
from {{ ref('stg_patient_disability') }}
where {{ patient_in_scope_or_orphan('patient_id') }}
{{ order_by_columns(2) }}
