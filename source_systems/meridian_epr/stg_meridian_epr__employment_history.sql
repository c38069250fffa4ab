select
    cast(review_key as {{ sql_type('bigint') }}) as employment_id,
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(emp_status_cd as {{ sql_type('string') }}) as status_local,
    cast(review_dt as {{ sql_type('date') }}) as recorded_on,
    cast(hours_cd as {{ sql_type('string') }}) as hours_band_local,
    cast(self_employed_cd as {{ sql_type('string') }}) as self_employed_local,
    cast(off_sick_cd as {{ sql_type('string') }}) as sick_leave_local,
    cast(ssp_cd as {{ sql_type('string') }}) as statutory_sick_pay_local,
    cast(any_benefit_cd as {{ sql_type('string') }}) as any_benefit_local,
    cast(esa_cd as {{ sql_type('string') }}) as esa_local,
    cast(uc_cd as {{ sql_type('string') }}) as universal_credit_local,
    cast(pip_cd as {{ sql_type('string') }}) as pip_local,
    cast(ea_suitable_cd as {{ sql_type('string') }}) as employment_support_suitable_local,
    cast(ea_referred_dt as {{ sql_type('date') }}) as employment_support_referred_on,
    cast(ea_discharged_dt as {{ sql_type('date') }}) as employment_support_discharged_on
from {{ source('meridian_epr', 'employment_review') }}
