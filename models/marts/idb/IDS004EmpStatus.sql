-- IDS004EmpStatus: employment statuses recorded on or before the period end for in-scope patients.
with

employment as (

    select *
    from {{ ref('stg_employment_history') }}
    where
        (recorded_on is null or recorded_on <= {{ period_end() }})
        and {{ patient_in_scope_or_orphan('patient_id') }}

)

select
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast({{ national_or_local('status') }} as {{ sql_type('string') }}) as EmployStatus,
    cast(recorded_on as {{ sql_type('date') }}) as EmployStatusRecDate,
    cast({{ national_or_local('hours_band') }} as {{ sql_type('string') }}) as WeekHoursWorked,
    cast({{ not_known_as_x('self_employed') }} as {{ sql_type('string') }}) as SelfEmployInd,
    cast({{ not_known_as_x('sick_leave') }} as {{ sql_type('string') }}) as SickAbsenceInd,
    cast({{ national_or_local('statutory_sick_pay') }} as {{ sql_type('string') }}) as SSPInd,
    cast({{ national_or_local('any_benefit') }} as {{ sql_type('string') }}) as BenefitRecInd,
    cast({{ national_or_local('esa') }} as {{ sql_type('string') }}) as ESAInd,
    cast({{ national_or_local('universal_credit') }} as {{ sql_type('string') }}) as UCInd,
    cast({{ national_or_local('pip') }} as {{ sql_type('string') }}) as PIPInd,
    cast({{ national_or_local('employment_support_suitable') }} as {{ sql_type('string') }}) as EmpSupportInd,
    cast({{ as_at_period_end('employment_support_referred_on') }} as {{ sql_type('date') }}) as EmpSupportReferral,
    cast(
        {{ as_at_period_end('employment_support_discharged_on') }} as {{ sql_type('date') }}
    ) as EmpSupportDischargeDate
from employment
{{ order_by_columns(14) }}
