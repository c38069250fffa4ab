-- IDS205InternetTherLog: internet-enabled therapy logs closing in the reporting period.
select
    cast(referral_id as {{ sql_type('string') }}) as ServiceRequestId,
    cast(started_on as {{ sql_type('date') }}) as StartDateIntEnabledTherLog,
    cast(ended_on as {{ sql_type('date') }}) as EndDateIntEnabledTherLog,
    cast(programme as {{ sql_type('string') }}) as IntEnabledTherProg,
    cast(minutes as {{ sql_type('integer') }}) as DurationIntEnabledTher,
    cast(staff_id as {{ sql_type('string') }}) as CarePersLocalId,
    cast({{ bool_to_yn('integrated_software') }} as {{ sql_type('string') }}) as IntegratedSoftwareInd
from {{ ref('int_therapy_logs__in_period') }}
{{ order_by_columns(7) }}
