select
    cast(hist_key as {{ sql_type('bigint') }}) as past_diagnosis_id,
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(scheme_cd as {{ sql_type('string') }}) as coding_scheme_local,
    cast(dx_code as {{ sql_type('string') }}) as diagnosis_code,
    cast(dx_dt as {{ sql_type('date') }}) as diagnosed_on
from {{ source('meridian_epr', 'client_history_dx') }}
