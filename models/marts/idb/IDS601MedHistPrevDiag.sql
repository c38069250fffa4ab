-- IDS601MedHistPrevDiag: previous diagnoses of in-scope patients made on or before the period end.
select
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast({{ national_or_local('coding_scheme') }} as {{ sql_type('string') }}) as DiagSchemeInUse,
    cast(diagnosis_code as {{ sql_type('string') }}) as PrevDiag,
    cast(diagnosed_on as {{ sql_type('date') }}) as DiagDate
from {{ ref('stg_past_diagnosis') }}
where
    (diagnosed_on is null or diagnosed_on <= {{ period_end() }})
    and {{ patient_in_scope_or_orphan('patient_id') }}
{{ order_by_columns(4) }}
