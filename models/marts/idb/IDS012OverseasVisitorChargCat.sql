-- IDS012OverseasVisitorChargCat: charging categories applicable by the period end for in-scope patients.
select
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast({{ national_or_local('charging_category') }} as {{ sql_type('string') }}) as OvsVisChCat,
    cast(applies_from as {{ sql_type('date') }}) as OvsVisChCatAppDate
from {{ ref('stg_overseas_visitor_status') }}
where
    (applies_from is null or applies_from <= {{ period_end() }})
    and {{ patient_in_scope_or_orphan('patient_id') }}
{{ order_by_columns(3) }}
