-- IDS202CareActivity: interventions of the period's care contacts (and orphans, kept for validation).
select
    cast(intervention_id as {{ sql_type('string') }}) as CareActId,
    cast(appointment_id as {{ sql_type('string') }}) as CareContactId,
    cast(staff_id as {{ sql_type('string') }}) as CarePersLocalId,
    cast(duration_minutes as {{ sql_type('integer') }}) as ClinContactDurOfCareAct,
    cast(procedure_snomed as {{ sql_type('string') }}) as CodeProcAndProcStatus,
    cast({{ national_or_local('finding_scheme') }} as {{ sql_type('string') }}) as FindSchemeInUse,
    cast(finding_code as {{ sql_type('string') }}) as CodeFind,
    cast(observation_snomed as {{ sql_type('string') }}) as CodeObs,
    cast(observation_value as {{ sql_type('string') }}) as ObsValue,
    cast(observation_unit as {{ sql_type('string') }}) as UnitMeasure
from {{ ref('int_care_activities__in_period') }}
{{ order_by_columns(10) }}
